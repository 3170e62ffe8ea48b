/* container_of for the CLI: the outer struct from a pointer to a member. */
#ifndef UVFETCH_CLI_CONTAINER_H
#define UVFETCH_CLI_CONTAINER_H

#include <stddef.h>

/* clang-format would glue "(ptr)-offsetof" as if it were a cast. */
/* clang-format off */
#define container_of(ptr, type, member)                                       \
  ((type *)((char *)(ptr) - offsetof(type, member)))
/* clang-format on */

#endif /* UVFETCH_CLI_CONTAINER_H */
