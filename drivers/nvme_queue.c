/* NVMe logic that touches no device: CAP decoding, doorbell offsets, queue
 * indices and phase, PRP lists, Identify data checks. Field positions are
 * the NVMe base specification's. Pure, so the unit tests run it as is. */
#include <keel/nvme.h>
#include <keel/string.h>

void nvme_cap_decode(uint64_t cap, struct nvme_cap *out)
{
	out->max_queue_entries = (uint32_t)(cap & 0xFFFF) + 1;
	/* TO counts 500 ms units; a controller reporting 0 still gets one unit
	 * rather than an instant timeout. */
	uint64_t units = (cap >> 24) & 0xFF;
	out->timeout_ns = (units ? units : 1) * 500000000ull;
	out->doorbell_stride = 4u << ((cap >> 32) & 0xF);
	out->nvm_command_set = (cap >> 37) & 1;
	out->min_page = 4096u << ((cap >> 48) & 0xF);
	out->max_page = 4096u << ((cap >> 52) & 0xF);
}

uint64_t nvme_doorbell_offset(uint32_t doorbell_stride, uint16_t qid, bool completion)
{
	return NVME_REG_DOORBELLS + (2ull * qid + (completion ? 1 : 0)) * doorbell_stride;
}

void nvme_queue_init(struct nvme_queue_state *q, uint16_t depth)
{
	q->depth = depth;
	q->sq_tail = 0;
	q->sq_head = 0;
	q->cq_head = 0;
	q->phase = 1; /* the rings start zeroed: phase 0 means "not yet written" */
}

static uint16_t next_index(const struct nvme_queue_state *q, uint16_t i)
{
	return (uint16_t)(i + 1 == q->depth ? 0 : i + 1);
}

/* One slot always stays empty: a full ring and an empty one would otherwise
 * both have head == tail. */
bool nvme_sq_full(const struct nvme_queue_state *q)
{
	return next_index(q, q->sq_tail) == q->sq_head;
}

uint16_t nvme_sq_claim(struct nvme_queue_state *q)
{
	uint16_t slot = q->sq_tail;
	q->sq_tail = next_index(q, slot);
	return slot;
}

bool nvme_cq_take(struct nvme_queue_state *q, const volatile struct nvme_cqe *ring,
		  struct nvme_cqe *out)
{
	const volatile struct nvme_cqe *e = &ring[q->cq_head];
	uint16_t status = e->status;
	if ((status & 1) != q->phase)
		return false;
	/* The device writes the entry before making it visible; the phase is
	 * read first, and the rest must not be read earlier than that. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	out->result = e->result;
	out->reserved = e->reserved;
	out->sq_head = e->sq_head;
	out->sq_id = e->sq_id;
	out->cid = e->cid;
	out->status = status;
	/* A head outside the ring would corrupt nvme_sq_full: keep the old. */
	if (out->sq_head < q->depth)
		q->sq_head = out->sq_head;
	q->cq_head = next_index(q, q->cq_head);
	if (q->cq_head == 0)
		q->phase ^= 1;
	return true;
}

int nvme_build_prps(uint64_t buf, uint32_t bytes, uint64_t *prp1, uint64_t *prp2, uint64_t *list,
		    uint64_t list_phys, unsigned list_max)
{
	/* PRP1 may start anywhere in a page (4-byte aligned); every later
	 * entry names a whole page, so the pages after the first are counted
	 * from the first page boundary past BUF. */
	if (!bytes || (buf & 3))
		return -1;
	uint64_t first_len = NVME_PAGE - (buf & (NVME_PAGE - 1));
	*prp1 = buf;
	*prp2 = 0;
	if (bytes <= first_len)
		return 0;
	uint64_t next = buf + first_len;
	uint64_t rest = bytes - first_len;
	if (rest <= NVME_PAGE) {
		*prp2 = next;
		return 0;
	}
	/* A list whose last entry would point to a further list page is never
	 * needed here: requests are at most BLKDEV_MAX_IO (33 pages). */
	uint64_t pages = (rest + NVME_PAGE - 1) / NVME_PAGE;
	if (pages > list_max || (list_phys & (NVME_PAGE - 1)))
		return -1;
	for (uint64_t i = 0; i < pages; i++)
		list[i] = next + i * NVME_PAGE;
	*prp2 = list_phys;
	return 0;
}

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64_at(const uint8_t *p)
{
	return le32_at(p) | (uint64_t)le32_at(p + 4) << 32;
}

/* ASCII field padded with spaces: copy, make non-printables '?', trim. */
static void copy_text(char *dst, const uint8_t *src, unsigned len)
{
	unsigned end = 0;
	for (unsigned i = 0; i < len; i++) {
		char c = (char)src[i];
		dst[i] = (c >= 0x20 && c < 0x7F) ? c : '?';
		if (c != ' ' && c != 0)
			end = i + 1;
	}
	dst[end] = 0;
}

void nvme_parse_ctrl(const uint8_t *id, uint32_t min_page, struct nvme_ctrl_info *out)
{
	copy_text(out->serial, id + 4, 20);
	copy_text(out->model, id + 24, 40);
	copy_text(out->firmware, id + 64, 8);
	/* MDTS: a power of two in units of the minimum page; 0 is no limit.
	 * Anything past 2^20 pages is far above what Keel asks for anyway. */
	uint8_t mdts = id[77];
	out->max_transfer = mdts == 0 ? 0 : mdts >= 20 ? 0 : min_page << mdts;
	out->namespaces = le32_at(id + 516);
	out->volatile_cache = id[525] & 1;
}

int nvme_parse_ns(const uint8_t *id, struct nvme_ns_info *out, const char **why)
{
	uint64_t nsze = le64_at(id);
	unsigned nformats = id[25] + 1u; /* NLBAF is 0-based */
	uint8_t flbas = id[26];
	/* FLBAS bits 3:0 select the format; bits 6:5 extend it past 16. */
	unsigned index = flbas & 0xF;
	if (nformats > 16)
		index |= ((flbas >> 5) & 3u) << 4;
	if (nsze == 0) {
		*why = "size 0";
		return -1;
	}
	if (nformats > 64 || index >= nformats) {
		*why = "LBA format index out of range";
		return -1;
	}
	uint32_t lbaf = le32_at(id + 128 + 4 * index);
	unsigned metadata = lbaf & 0xFFFF, lbads = (lbaf >> 16) & 0xFF;
	if (lbads < 9 || lbads > 12) {
		*why = "LBA data size not 512 to 4096 bytes";
		return -1;
	}
	/* Metadata would need a separate buffer or interleave with the data;
	 * Keel moves plain blocks only. */
	if (metadata) {
		*why = "LBA format with metadata";
		return -1;
	}
	/* block counts past 2^52 would overflow byte arithmetic elsewhere */
	if (nsze > (UINT64_MAX >> lbads)) {
		*why = "size out of range";
		return -1;
	}
	out->nblocks = nsze;
	out->block_size = 1u << lbads;
	return 0;
}
