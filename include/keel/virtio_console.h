/* The host side of a VM's virtio-console (vdev/virtio_console.c), for the
 * shell: typed bytes in, the unfinished output line out. Callers hold
 * vm->lock (so the device cannot be freed) and no device's lock. */
#ifndef KEEL_VIRTIO_CONSOLE_H
#define KEEL_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct virtio_dev;

/* Bytes typed at the attached console, for the guest's receiveq; what a
 * full buffer cannot take is dropped and counted. */
void virtio_console_receive(struct virtio_dev *d, const char *buf, size_t n);
/* Typed bytes dropped so far because the guest was not reading. */
uint64_t virtio_console_input_dropped(struct virtio_dev *d);
/* A console was just attached: show the guest's unfinished output line. */
void virtio_console_show_partial_line(struct virtio_dev *d);

#endif
