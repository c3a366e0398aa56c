/* Host NVMe controllers (PCI class 01:08:02): reset and enable, Identify,
 * one I/O queue pair, and every usable namespace offered as a block device
 * "nvme<controller>n<namespace>" for the datastore.
 *
 * Completions are polled, never signalled by interrupts: requests are
 * synchronous in the exit path of the vCPU that issued them (that vCPU waits
 * for the answer anyway), and polling needs no host interrupt routing, which
 * Keel does not have yet. INTx is therefore disabled at the PCI function and
 * the I/O completion queue is created with interrupts off.
 *
 * One command is in flight per controller at a time (c->lock), so a
 * completion that is not the one awaited is a device fault. Every wait is
 * bounded: CAP.TO for enable and disable, NVME_CMD_TIMEOUT_NS per command.
 * A command that times out leaves the device holding a buffer Keel is about
 * to reuse, so the controller is disabled (which ends its DMA) and refuses
 * every later request; Keel runs on without it. */
#include <arch/time.h>
#include <arch/x86.h>
#include <keel/blkdev.h>
#include <keel/console.h>
#include <keel/heap.h>
#include <keel/host_driver.h>
#include <keel/nvme.h>
#include <keel/pmm.h>
#include <keel/string.h>

#define NVME_CLASS 0x010802
#define NVME_CMD_TIMEOUT_NS (5ull * 1000000000ull)
/* Ring depth for every queue: deeper is useless with one command in flight,
 * and 64 submission entries fill exactly one page. */
#define NVME_QUEUE_DEPTH 64u
#define NVME_IO_QID 1
#define PCI_COMMAND 0x04
#define PCI_COMMAND_INTX_DISABLE 0x400
#define NS_LIST_MAX 1024u /* entries in the active namespace list (4 KiB) */

struct nvme_queue {
	struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	struct nvme_queue_state st;
	volatile uint32_t *sq_doorbell, *cq_doorbell;
	uint16_t qid;
};

struct nvme_ctrl {
	struct hostpci_dev *pci;
	volatile uint8_t *regs;
	struct nvme_cap cap;
	struct nvme_ctrl_info info;
	struct nvme_queue admin, io;
	uint64_t *prp_list; /* one page, for the current I/O command */
	uint8_t *scratch; /* one page: Identify data */
	uint32_t max_transfer; /* bytes per command: MDTS capped at BLKDEV_MAX_IO */
	unsigned index;
	char name[BLKDEV_NAME_MAX]; /* "nvme0", for the log */
	uint16_t next_cid;
	bool failed; /* disabled after a timeout or a protocol fault */
	spinlock_t lock; /* the I/O queue, shared by the namespaces */
};

struct nvme_ns {
	struct blkdev bdev;
	struct nvme_ctrl *ctrl;
	uint32_t nsid;
	unsigned block_shift;
};

static uint32_t reg_read32(const struct nvme_ctrl *c, unsigned off)
{
	return *(volatile uint32_t *)(c->regs + off);
}

static void reg_write32(const struct nvme_ctrl *c, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(c->regs + off) = v;
}

/* 64-bit registers as two dword accesses, low first: the specification
 * allows it, and not every controller takes a qword access. */
static uint64_t reg_read64(const struct nvme_ctrl *c, unsigned off)
{
	uint64_t lo = reg_read32(c, off);
	return lo | (uint64_t)reg_read32(c, off + 4) << 32;
}

static void reg_write64(const struct nvme_ctrl *c, unsigned off, uint64_t v)
{
	reg_write32(c, off, (uint32_t)v);
	reg_write32(c, off + 4, (uint32_t)(v >> 32));
}

/* Wait (at most CAP.TO) for CSTS.RDY to become READY. */
static int wait_ready(const struct nvme_ctrl *c, bool ready)
{
	uint64_t deadline = time_ns() + c->cap.timeout_ns;
	uint32_t csts;
	for (;;) {
		csts = reg_read32(c, NVME_REG_CSTS);
		if (csts == 0xFFFFFFFF) /* the function stopped answering */
			break;
		if (ready && (csts & NVME_CSTS_CFS))
			break;
		if (!!(csts & NVME_CSTS_RDY) == ready)
			return 0;
		if (time_ns() > deadline)
			break;
		cpu_relax();
	}
	klog("%s: controller not %s within %lu ms (CSTS %#x)", c->name,
	     ready ? "ready" : "disabled", c->cap.timeout_ns / 1000000, csts);
	return -1;
}

/* Clear CC.EN and wait for the controller to stop: this aborts whatever
 * it still holds and ends its DMA. */
static int disable(const struct nvme_ctrl *c)
{
	uint32_t cc = reg_read32(c, NVME_REG_CC);
	if (cc & NVME_CC_EN) {
		/* Clearing EN before RDY follows a set EN is undefined: let a
		 * half-enabled controller finish first (it may also fail). */
		if (!(reg_read32(c, NVME_REG_CSTS) & NVME_CSTS_RDY))
			wait_ready(c, true);
		reg_write32(c, NVME_REG_CC, cc & ~NVME_CC_EN);
	}
	return wait_ready(c, false);
}

static void give_up(struct nvme_ctrl *c)
{
	c->failed = true;
	disable(c);
	klog("%s: controller disabled; its disks refuse every request", c->name);
}

/* Submit CMD on Q and poll for its completion. 0 on success; else -1 after
 * a log line naming WHO ("nvme0", "nvme0n1"), WHAT, the opcode and the
 * status (or the timeout). */
static int run_command(struct nvme_ctrl *c, struct nvme_queue *q, struct nvme_sqe *cmd,
		       const char *who, const char *what)
{
	if (c->failed)
		return -1;
	if (nvme_sq_full(&q->st)) {
		klog("%s: %s: queue %u full (the device lost a completion)", who, what, q->qid);
		give_up(c);
		return -1;
	}
	cmd->cid = c->next_cid++;
	uint16_t slot = nvme_sq_claim(&q->st);
	q->sq[slot] = *cmd;
	/* The entry must be in memory before the doorbell tells the device to
	 * fetch it (the doorbell is uncached MMIO; the ring is write-back). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*q->sq_doorbell = q->st.sq_tail;

	struct nvme_cqe done;
	uint64_t start = time_ns();
	while (!nvme_cq_take(&q->st, q->cq, &done)) {
		if (time_ns() - start > NVME_CMD_TIMEOUT_NS) {
			klog("%s: %s (opcode %#x) timed out after %llu ms", who, what, cmd->opcode,
			     NVME_CMD_TIMEOUT_NS / 1000000);
			give_up(c);
			return -1;
		}
		cpu_relax();
	}
	*q->cq_doorbell = q->st.cq_head;
	if (done.cid != cmd->cid || done.sq_id != q->qid) {
		klog(
		    "%s: %s (opcode %#x): completion for command %u on queue %u, expected %u on %u",
		    who, what, cmd->opcode, done.cid, done.sq_id, cmd->cid, q->qid);
		give_up(c);
		return -1;
	}
	if (nvme_status_code(done.status) || nvme_status_type(done.status)) {
		klog("%s: %s (opcode %#x) failed: status type %u code %#x%s", who, what,
		     cmd->opcode, nvme_status_type(done.status), nvme_status_code(done.status),
		     (done.status & 0x8000) ? " (do not retry)" : "");
		return -1;
	}
	return 0;
}

static int identify(struct nvme_ctrl *c, uint8_t cns, uint32_t nsid, const char *what)
{
	struct nvme_sqe cmd = {
	    .opcode = NVME_ADMIN_IDENTIFY,
	    .nsid = nsid,
	    .prp1 = (uintptr_t)c->scratch,
	    .cdw10 = cns,
	};
	memset(c->scratch, 0, NVME_IDENTIFY_BYTES);
	return run_command(c, &c->admin, &cmd, c->name, what);
}

/* Rings of DEPTH entries in zeroed pages, and the queue's doorbells. */
static int queue_alloc(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid, uint16_t depth)
{
	q->sq = page_alloc_zeroed(0);
	q->cq = page_alloc_zeroed(0);
	if (!q->sq || !q->cq)
		return -1;
	q->qid = qid;
	nvme_queue_init(&q->st, depth);
	uint32_t stride = c->cap.doorbell_stride;
	q->sq_doorbell = (volatile uint32_t *)hostpci_bar_ptr(
	    c->pci, 0, nvme_doorbell_offset(stride, qid, false));
	q->cq_doorbell = (volatile uint32_t *)hostpci_bar_ptr(
	    c->pci, 0, nvme_doorbell_offset(stride, qid, true));
	return q->sq_doorbell && q->cq_doorbell ? 0 : -1;
}

static void queue_free(struct nvme_queue *q)
{
	if (q->sq)
		page_free(q->sq, 0);
	if (q->cq)
		page_free((void *)(uintptr_t)q->cq, 0);
}

/* Reset, hand the controller the admin queue, enable it. */
static int bring_up(struct nvme_ctrl *c)
{
	nvme_cap_decode(reg_read64(c, NVME_REG_CAP), &c->cap);
	if (!c->cap.nvm_command_set || c->cap.min_page > NVME_PAGE) {
		klog("%s: controller lacks the NVM command set or 4 KiB pages (CAP %#lx)", c->name,
		     reg_read64(c, NVME_REG_CAP));
		return -1;
	}
	uint16_t depth =
	    (uint16_t)(c->cap.max_queue_entries < NVME_QUEUE_DEPTH ? c->cap.max_queue_entries
								   : NVME_QUEUE_DEPTH);
	if (depth < 2) {
		klog("%s: queues of %u entries are too small", c->name, depth);
		return -1;
	}
	if (disable(c))
		return -1;
	if (queue_alloc(c, &c->admin, 0, depth) || queue_alloc(c, &c->io, NVME_IO_QID, depth)) {
		klog("%s: no memory or doorbells for the queues", c->name);
		return -1;
	}
	reg_write32(c, NVME_REG_AQA, (uint32_t)(depth - 1) << 16 | (uint32_t)(depth - 1));
	reg_write64(c, NVME_REG_ASQ, (uintptr_t)c->admin.sq);
	reg_write64(c, NVME_REG_ACQ, (uintptr_t)c->admin.cq);
	/* NVM command set, 4 KiB pages (MPS 0), round robin, standard sizes. */
	reg_write32(c, NVME_REG_CC, NVME_CC_IOSQES_64 | NVME_CC_IOCQES_16 | NVME_CC_EN);
	return wait_ready(c, true);
}

/* One I/O queue pair (Set Features first, as the specification asks). */
static int create_io_queues(struct nvme_ctrl *c)
{
	struct nvme_sqe feat = {.opcode = NVME_ADMIN_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES};
	if (run_command(c, &c->admin, &feat, c->name, "Set Features (number of queues)"))
		return -1;
	uint32_t size = (uint32_t)(c->io.st.depth - 1) << 16 | NVME_IO_QID;
	struct nvme_sqe cq = {
	    .opcode = NVME_ADMIN_CREATE_CQ,
	    .prp1 = (uintptr_t)c->io.cq,
	    .cdw10 = size,
	    .cdw11 = 1, /* physically contiguous, interrupts off */
	};
	if (run_command(c, &c->admin, &cq, c->name, "Create I/O Completion Queue"))
		return -1;
	struct nvme_sqe sq = {
	    .opcode = NVME_ADMIN_CREATE_SQ,
	    .prp1 = (uintptr_t)c->io.sq,
	    .cdw10 = size,
	    .cdw11 = (uint32_t)NVME_IO_QID << 16 | 1, /* its CQ; contiguous */
	};
	return run_command(c, &c->admin, &sq, c->name, "Create I/O Submission Queue");
}

/* Read or write COUNT blocks at LBA, split at the controller's transfer
 * limit. The caller holds the blkdev's lock; c->lock covers the queue the
 * controller's namespaces share. */
static int transfer(struct nvme_ns *ns, uint8_t opcode, uint64_t lba, uint32_t count, uintptr_t buf)
{
	struct nvme_ctrl *c = ns->ctrl;
	uint32_t per_command = c->max_transfer >> ns->block_shift;
	const char *verb = opcode == NVME_CMD_READ ? "read" : "write";
	char what[80];
	int ret = 0;

	spin_lock(&c->lock);
	while (count && !ret) {
		uint32_t n = count < per_command ? count : per_command;
		uint32_t bytes = n << ns->block_shift;
		struct nvme_sqe cmd = {
		    .opcode = opcode,
		    .nsid = ns->nsid,
		    .cdw10 = (uint32_t)lba,
		    .cdw11 = (uint32_t)(lba >> 32),
		    .cdw12 = n - 1, /* NLB is 0-based */
		};
		snprintf(what, sizeof(what), "%s of %u blocks at %lu", verb, n, lba);
		if (nvme_build_prps(buf, bytes, &cmd.prp1, &cmd.prp2, c->prp_list,
				    (uintptr_t)c->prp_list, NVME_PAGE / sizeof(uint64_t))) {
			klog("%s: %s: buffer %#lx not 4-byte aligned", ns->bdev.name, what,
			     (unsigned long)buf);
			ret = -1;
			break;
		}
		ret = run_command(c, &c->io, &cmd, ns->bdev.name, what);
		lba += n;
		buf += bytes;
		count -= n;
	}
	spin_unlock(&c->lock);
	return ret;
}

static int ns_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
	return transfer(b->priv, NVME_CMD_READ, lba, count, (uintptr_t)buf);
}

static int ns_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
	return transfer(b->priv, NVME_CMD_WRITE, lba, count, (uintptr_t)buf);
}

static int ns_flush(struct blkdev *b)
{
	struct nvme_ns *ns = b->priv;
	struct nvme_ctrl *c = ns->ctrl;
	char what[40];
	struct nvme_sqe cmd = {.opcode = NVME_CMD_FLUSH, .nsid = ns->nsid};

	snprintf(what, sizeof(what), "%s: flush", b->name);
	spin_lock(&c->lock);
	int ret = run_command(c, &c->io, &cmd, ns->bdev.name, what);
	spin_unlock(&c->lock);
	return ret;
}

static const struct blkdev_ops nvme_blk_ops = {
    .read = ns_read,
    .write = ns_write,
    .flush = ns_flush,
};

/* Identify namespace NSID and offer it; 0 when registered. */
static int add_namespace(struct nvme_ctrl *c, uint32_t nsid)
{
	char name[BLKDEV_NAME_MAX];
	struct nvme_ns_info info;
	const char *why;

	snprintf(name, sizeof(name), "%sn%u", c->name, nsid);
	if (identify(c, NVME_CNS_NAMESPACE, nsid, "Identify Namespace"))
		return -1;
	if (nvme_parse_ns(c->scratch, &info, &why)) {
		klog("%s: refused: %s", name, why);
		return -1;
	}
	struct nvme_ns *ns = kzalloc(sizeof(*ns));
	if (!ns)
		return -1;
	ns->ctrl = c;
	ns->nsid = nsid;
	ns->block_shift = (unsigned)__builtin_ctz(info.block_size);
	strlcpy(ns->bdev.name, name, sizeof(ns->bdev.name));
	ns->bdev.block_size = info.block_size;
	ns->bdev.nblocks = info.nblocks;
	ns->bdev.ops = &nvme_blk_ops;
	ns->bdev.priv = ns;
	/* Read the first block once: a namespace whose I/O path does not work
	 * is better refused now than found broken by a VM's first request. */
	if (ns_read(&ns->bdev, 0, 1, c->scratch)) {
		klog("%s: refused: its first block cannot be read", name);
		kfree(ns);
		return -1;
	}
	if (blkdev_register(&ns->bdev)) { /* blkdev logged why */
		kfree(ns);
		return -1;
	}
	klog("%s: %lu blocks of %u bytes (%lu MiB), model \"%s\", serial %s", name, info.nblocks,
	     info.block_size, (info.nblocks * info.block_size) >> 20, c->info.model,
	     c->info.serial);
	return 0;
}

/* Offer every active namespace; how many were registered. */
static unsigned add_namespaces(struct nvme_ctrl *c)
{
	/* The active namespace list (NVMe 1.1+) names exactly the namespaces in
	 * use; older controllers get the first IDs up to NN tried, no more
	 * than the registry could take. */
	static uint32_t ids[NS_LIST_MAX];
	unsigned nids = 0;
	if (identify(c, NVME_CNS_ACTIVE_NSIDS, 0, "Identify Active Namespace List") == 0) {
		memcpy(ids, c->scratch, sizeof(ids));
		while (nids < NS_LIST_MAX && ids[nids])
			nids++;
	} else {
		for (; nids < c->info.namespaces && nids < BLKDEV_MAX; nids++)
			ids[nids] = nids + 1;
	}
	unsigned added = 0;
	for (unsigned i = 0; i < nids && blkdev_count() < BLKDEV_MAX && !c->failed; i++)
		if (add_namespace(c, ids[i]) == 0)
			added++;
	return added;
}

static bool nvme_match(const struct hostpci_dev *d)
{
	return d->class_code == NVME_CLASS;
}

static void release(struct nvme_ctrl *c)
{
	if (c->regs)
		disable(c);
	queue_free(&c->admin);
	queue_free(&c->io);
	if (c->prp_list)
		page_free(c->prp_list, 0);
	if (c->scratch)
		page_free(c->scratch, 0);
	kfree(c);
}

static int nvme_probe(struct hostpci_dev *d)
{
	/* Numbered in PCI order, failures included, so that one broken disk
	 * does not rename the others in a configuration. */
	static unsigned controllers;
	struct nvme_ctrl *c = kzalloc(sizeof(*c));
	if (!c)
		return -1;
	c->index = controllers++;
	snprintf(c->name, sizeof(c->name), "nvme%u", c->index);
	c->pci = d;
	c->lock = (spinlock_t)SPINLOCK_INIT;
	/* The doorbells of queues 0 and 1 must lie inside BAR 0; their offsets
	 * depend on CAP, checked once it is read (queue_alloc). */
	c->regs = (volatile uint8_t *)hostpci_bar_ptr(d, 0, 0);
	if (!c->regs || d->bar[0].size < NVME_REG_DOORBELLS) {
		klog("%s: BAR 0 is missing or too small", c->name);
		c->regs = NULL;
		release(c);
		return -1;
	}
	hostpci_enable(d);
	hostpci_write16(d, PCI_COMMAND, hostpci_read16(d, PCI_COMMAND) | PCI_COMMAND_INTX_DISABLE);
	c->prp_list = page_alloc_zeroed(0);
	c->scratch = page_alloc_zeroed(0);
	if (!c->prp_list || !c->scratch || bring_up(c) ||
	    identify(c, NVME_CNS_CONTROLLER, 0, "Identify Controller"))
		goto fail;
	nvme_parse_ctrl(c->scratch, c->cap.min_page, &c->info);
	c->max_transfer = c->info.max_transfer && c->info.max_transfer < BLKDEV_MAX_IO
			      ? c->info.max_transfer
			      : BLKDEV_MAX_IO;
	if (create_io_queues(c))
		goto fail;
	if (add_namespaces(c) == 0) {
		klog("%s: no usable namespace", c->name);
		goto fail;
	}
	return 0;
fail:
	release(c);
	return -1;
}

HOST_DRIVER(nvme_driver) = {
    .name = "nvme",
    .match = nvme_match,
    .probe = nvme_probe,
};
