/* container_of for the CLI: the outer struct from a pointer to a member. */
#ifndef UVFETCH_CLI_CONTAINER_H
#define UVFETCH_CLI_CONTAINER_H

#include <stddef.h>

#define container_of(ptr, type, member)                                       \
  ((type *)((char *)(ptr) - offsetof(type, member)))

#endif /* UVFETCH_CLI_CONTAINER_H */
