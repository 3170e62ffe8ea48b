/* An intrusive, circular, doubly-linked list: the engine's lists of
 * sockets (loop.c) and names (resolve.c). A list is a head node pointing
 * at itself when empty; an element embeds a node, zeroed while it is in
 * no list, and finds itself again with container_of.
 */
#ifndef UVFETCH_LIST_H
#define UVFETCH_LIST_H

#include <stddef.h>

struct list {
  struct list *prev;
  struct list *next;
};

static inline void list_init(struct list *head) {
  head->prev = head;
  head->next = head;
}

static inline int list_empty(const struct list *head) {
  return head->next == head;
}

/* Is this element's node in some list? */
static inline int list_linked(const struct list *node) {
  return node->next != NULL;
}

static inline void list_push_front(struct list *head, struct list *node) {
  node->prev = head;
  node->next = head->next;
  head->next->prev = node;
  head->next = node;
}

/* Takes the node out of its list; harmless when it is in none. */
static inline void list_remove(struct list *node) {
  if (node->next == NULL)
    return;
  node->prev->next = node->next;
  node->next->prev = node->prev;
  node->prev = NULL;
  node->next = NULL;
}

#endif /* UVFETCH_LIST_H */
