/* virtio-console (virtio 1.2, "Console Device"): a VM's second console,
 * /dev/hvc0 in a Linux guest, with `virtio-console = yes`. One port:
 * port 0's receiveq (queue 0) and transmitq (queue 1). MULTIPORT is not
 * offered: its control queues, extra ports and port names buy nothing for
 * one console, and without it the driver makes port 0 a console with no
 * control messages at all. Neither is SIZE (there is no terminal size to
 * report) nor EMERG_WRITE.
 *
 * Output: the transmitq's bytes become lines on Keel's console tagged
 * `[vm:hvc0]`, or go out raw while the operator is attached to this
 * console (core/vmconsole.c). Input: bytes typed while attached wait in a
 * bounded buffer and go into receive buffers as the guest posts them;
 * what the buffer cannot take is dropped and counted (the shell reports
 * it at detach), so the operator's Ctrl-] always gets through.
 *
 * Locking: all of the state below is under the device lock. Input comes
 * from the shell holding vm->lock (which keeps the device alive) and takes
 * the device lock through virtio_dev_begin/end, which deliver the
 * interrupt once it is dropped. Lines reach the console under the device
 * lock, as the UART's do under its lock: the console's lock is a leaf. */
#include <keel/console.h>
#include <keel/heap.h>
#include <keel/vdev.h>
#include <keel/virtio_console.h>
#include <keel/virtio_dev.h>

#define VIRTIO_ID_CONSOLE 3
#define HVC_DEVFN 0x28 /* 00:05.0 */
#define HVC_BAR0 0xE0008000u /* after virtio-net's */
#define HVC_INTX_IRQ 7 /* an ISA line no other device drives (LPT1 on PCs) */
#define HVC_QUEUE_SIZE 64
#define RXQ 0
#define TXQ 1
#define HVC_PORT_NAME "hvc0" /* the name Linux gives port 0's console */
#define LINE_MAX 200 /* as the UART's: longer lines are split */
#define INPUT_MAX 512 /* typed bytes held for a guest that posts no buffers */
#define CHUNK 128 /* bytes read from a transmit chain at a time */
#define CFG_LEN 12 /* cols, rows (le16), max_nr_ports, emerg_wr (le32) */

struct hvc {
	struct vm *vm;
	unsigned line_len;
	bool wrapped; /* the last line was split: its '\n' ends nothing */
	char line[LINE_MAX];
	unsigned in_head, in_len; /* a ring of typed bytes */
	char in[INPUT_MAX];
	uint64_t in_dropped; /* typed bytes the ring could not take */
	uint64_t tx_faults; /* transmit chains the guest let us not read */
};

static void flush_line(struct hvc *h)
{
	vmconsole_output_port(h->vm, HVC_PORT_NAME, h->line, h->line_len);
	h->line_len = 0;
}

/* One byte of guest output: collected into lines, as the UART does, so
 * the output of several VMs never interleaves mid-line. */
static void put(struct hvc *h, char c)
{
	if (vmconsole_attached_port(h->vm, VMCONSOLE_HVC)) {
		if (h->line_len)
			flush_line(h);
		vmconsole_raw(h->vm, c);
		return;
	}
	if (c == '\r')
		return;
	if (c == '\n') {
		if (!h->wrapped)
			flush_line(h);
		h->wrapped = false;
		return;
	}
	h->wrapped = false;
	h->line[h->line_len++] = c;
	if (h->line_len == LINE_MAX) {
		flush_line(h); /* an overlong line is split, never dropped */
		h->wrapped = true;
	}
}

/* Under the lock: everything the guest has queued for output. */
static void take_output(struct virtio_dev *d)
{
	struct hvc *h = d->model_state;
	char buf[CHUNK];

	while (virtio_dev_pop(d, TXQ) > 0) {
		uint64_t len = d->chain.read_len;
		for (uint64_t off = 0; off < len;) {
			uint32_t n = len - off < CHUNK ? (uint32_t)(len - off) : CHUNK;
			if (virtio_dev_read(d, off, buf, n) != (int64_t)n) {
				h->tx_faults++; /* a buffer outside RAM: the rest is lost */
				break;
			}
			for (uint32_t i = 0; i < n; i++)
				put(h, buf[i]);
			off += n;
		}
		virtio_dev_push(d, TXQ, 0);
	}
}

/* Under the lock: waiting input into the guest's receive buffers, as much
 * as each takes. */
static void give_input(struct virtio_dev *d)
{
	struct hvc *h = d->model_state;

	while (h->in_len && virtio_dev_live(d) && virtio_dev_pop(d, RXQ) > 0) {
		uint64_t room = d->chain.write_len;
		uint32_t want = room < h->in_len ? (uint32_t)room : h->in_len, done = 0;
		while (done < want) {
			uint32_t piece = want - done;
			if (piece > INPUT_MAX - h->in_head)
				piece = INPUT_MAX - h->in_head; /* up to the ring's end */
			if (virtio_dev_write(d, done, &h->in[h->in_head], piece) != (int64_t)piece)
				break; /* a buffer outside RAM: the bytes wait for the next */
			h->in_head = (h->in_head + piece) % INPUT_MAX;
			h->in_len -= piece;
			done += piece;
		}
		virtio_dev_push(d, RXQ, done);
	}
}

static void hvc_notify(struct virtio_dev *d, unsigned q)
{
	if (q == TXQ)
		take_output(d);
	else if (q == RXQ)
		give_input(d); /* new receive buffers: typed bytes may be waiting */
}

static const struct virtio_model hvc_model = {.name = "virtio-console", .notify = hvc_notify};

void virtio_console_receive(struct virtio_dev *d, const char *buf, size_t n)
{
	struct hvc *h = d->model_state;

	virtio_dev_begin(d);
	for (size_t i = 0; i < n; i++) {
		if (h->in_len == INPUT_MAX) {
			h->in_dropped += n - i;
			break;
		}
		h->in[(h->in_head + h->in_len) % INPUT_MAX] = buf[i];
		h->in_len++;
	}
	give_input(d);
	virtio_dev_end(d);
}

uint64_t virtio_console_input_dropped(struct virtio_dev *d)
{
	struct hvc *h = d->model_state;

	virtio_dev_begin(d);
	uint64_t n = h->in_dropped;
	virtio_dev_end(d);
	return n;
}

void virtio_console_show_partial_line(struct virtio_dev *d)
{
	struct hvc *h = d->model_state;

	virtio_dev_begin(d);
	for (unsigned i = 0; i < h->line_len; i++)
		vmconsole_raw(h->vm, h->line[i]);
	h->line_len = 0;
	virtio_dev_end(d);
}

/* Device configuration: cols and rows read 0 (SIZE is not offered), one
 * port; emerg_wr is ignored (EMERG_WRITE is not offered). */
static uint32_t hvc_cfg_read(void *dev, unsigned off, unsigned size)
{
	static const uint8_t cfg[CFG_LEN] = {[4] = 1}; /* max_nr_ports = 1 */
	uint32_t v = 0;

	(void)dev;
	for (unsigned i = 0; i < size; i++)
		if (off + i < CFG_LEN)
			v |= (uint32_t)cfg[off + i] << (8 * i);
	return v;
}

static void hvc_cfg_write(void *dev, unsigned off, unsigned size, uint32_t value)
{
	(void)dev, (void)off, (void)size, (void)value;
}

static const struct virtio_pci_device_ops hvc_cfg_ops = {hvc_cfg_read, hvc_cfg_write};

static void hvc_destroy(struct vm *vm)
{
	if (!vm->console)
		return;
	struct hvc *h = vm->console->model_state;
	virtio_dev_destroy(vm->console);
	kfree(h);
	vm->console = NULL;
}

static int hvc_create(struct vm *vm)
{
	if (!vm->cfg->virtio_console)
		return 0;
	struct hvc *h = kzalloc(sizeof(*h));
	if (!h)
		return -1;
	h->vm = vm;
	const struct virtio_pci_params params = {
	    .device_id = VIRTIO_ID_CONSOLE,
	    .class_code = 0x078000, /* simple communication controller, other */
	    .features = VQ_F_INDIRECT_DESC | VQ_F_EVENT_IDX,
	    .num_queues = 2,
	    .queue_size = HVC_QUEUE_SIZE,
	    .cfg_len = CFG_LEN,
	    .ops = &hvc_cfg_ops,
	    .dev = h,
	};
	vm->console =
	    virtio_dev_create(vm, HVC_DEVFN, HVC_BAR0, HVC_INTX_IRQ, params, &hvc_model, h);
	if (!vm->console) {
		kfree(h);
		return -1;
	}
	return 0;
}

/* The VM has stopped: its unfinished last line still reaches the log. */
static void hvc_flush(struct vm *vm)
{
	if (!vm->console)
		return;
	struct hvc *h = vm->console->model_state;
	virtio_dev_begin(vm->console);
	if (h->line_len)
		flush_line(h);
	virtio_dev_end(vm->console);
}

const struct vdev_type vdev_virtio_console = {
    .name = "virtio-console",
    .create = hvc_create,
    .destroy = hvc_destroy,
    .flush = hvc_flush,
};
