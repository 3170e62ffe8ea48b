/* Private definitions shared between the library's source files. */
#ifndef UVFETCH_INTERNAL_H
#define UVFETCH_INTERNAL_H

#include <stddef.h>

#define container_of(ptr, type, member)                                        \
  ((type *)((char *)(ptr)-offsetof(type, member)))

#endif /* UVFETCH_INTERNAL_H */
