/* NVMe, the parts that need no device (drivers/nvme_queue.c): register and
 * command layouts from the NVMe base specification, queue index and phase
 * bookkeeping, PRP building and the checks on what Identify returns. The
 * driver (drivers/nvme.c) does the MMIO and the waiting; the unit tests
 * (tests/unit/test_nvme.c) run this part on the build machine. */
#ifndef KEEL_NVME_H
#define KEEL_NVME_H

#include <stdbool.h>
#include <stdint.h>

/* Controller registers (offsets in BAR 0). */
#define NVME_REG_CAP 0x00 /* 64-bit */
#define NVME_REG_VS 0x08
#define NVME_REG_INTMS 0x0C
#define NVME_REG_CC 0x14
#define NVME_REG_CSTS 0x1C
#define NVME_REG_AQA 0x24
#define NVME_REG_ASQ 0x28 /* 64-bit */
#define NVME_REG_ACQ 0x30 /* 64-bit */
#define NVME_REG_DOORBELLS 0x1000

#define NVME_CC_EN (1u << 0)
#define NVME_CC_IOSQES_64 (6u << 16) /* log2 of the 64-byte submission entry */
#define NVME_CC_IOCQES_16 (4u << 20) /* log2 of the 16-byte completion entry */
#define NVME_CSTS_RDY (1u << 0)
#define NVME_CSTS_CFS (1u << 1) /* controller fatal status */

/* Keel's memory page size for the controller (CC.MPS = 0: 4 KiB). */
#define NVME_PAGE 4096u

/* Opcodes. */
#define NVME_ADMIN_CREATE_SQ 0x01
#define NVME_ADMIN_CREATE_CQ 0x05
#define NVME_ADMIN_IDENTIFY 0x06
#define NVME_ADMIN_SET_FEATURES 0x09
#define NVME_CMD_FLUSH 0x00
#define NVME_CMD_WRITE 0x01
#define NVME_CMD_READ 0x02

#define NVME_CNS_NAMESPACE 0x00
#define NVME_CNS_CONTROLLER 0x01
#define NVME_CNS_ACTIVE_NSIDS 0x02
#define NVME_FEAT_NUM_QUEUES 0x07

struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags; /* 0: not fused, PRPs */
	uint16_t cid;
	uint32_t nsid;
	uint64_t reserved;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
_Static_assert(sizeof(struct nvme_sqe) == 64, "NVMe submission entries are 64 bytes");

struct nvme_cqe {
	uint32_t result; /* command specific (DW0) */
	uint32_t reserved;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status; /* bit 0: phase tag; 15:1 the status field */
};
_Static_assert(sizeof(struct nvme_cqe) == 16, "NVMe completion entries are 16 bytes");

/* Status field of a completion: code (SC) and type (SCT); 0 is success. */
static inline unsigned nvme_status_code(uint16_t status)
{
	return (status >> 1) & 0xFF;
}
static inline unsigned nvme_status_type(uint16_t status)
{
	return (status >> 9) & 0x7;
}

/* What Keel needs from CAP. */
struct nvme_cap {
	uint32_t max_queue_entries; /* MQES + 1 */
	uint64_t timeout_ns; /* TO: worst case for CSTS.RDY to follow CC.EN */
	uint32_t doorbell_stride; /* bytes: 4 << DSTRD */
	bool nvm_command_set; /* CSS bit 0 */
	uint32_t min_page, max_page; /* bytes: 4 KiB << MPSMIN / MPSMAX */
};
void nvme_cap_decode(uint64_t cap, struct nvme_cap *out);
/* Byte offset in BAR 0 of queue QID's submission (or completion) doorbell. */
uint64_t nvme_doorbell_offset(uint32_t doorbell_stride, uint16_t qid, bool completion);

/* A queue pair's indices. A submission queue is full when the tail would
 * reach the head the controller last reported; the completion side expects
 * entries with phase tag `phase`, which flips each time the head wraps. */
struct nvme_queue_state {
	uint16_t depth; /* entries in each ring, 2 or more */
	uint16_t sq_tail; /* next free submission slot */
	uint16_t sq_head; /* last head the controller reported */
	uint16_t cq_head; /* next completion slot to look at */
	uint8_t phase; /* phase tag of a new entry at cq_head */
};
void nvme_queue_init(struct nvme_queue_state *q, uint16_t depth);
bool nvme_sq_full(const struct nvme_queue_state *q);
/* The slot to fill, then the new tail to write to the doorbell. */
uint16_t nvme_sq_claim(struct nvme_queue_state *q);
/* If CQ[cq_head] is new (its phase matches), copy it to OUT, advance the
 * head (flipping the phase on wrap), note the SQ head it reports and return
 * true. The entry is read phase first so the rest is never a stale copy. */
bool nvme_cq_take(struct nvme_queue_state *q, const volatile struct nvme_cqe *ring,
		  struct nvme_cqe *out);

/* PRPs for BYTES (> 0) at physical address BUF (contiguous: Keel is
 * identity-mapped). PRP1 points into the first page; PRP2 is the second
 * page, or LIST_PHYS when more pages follow, whose entries LIST receives
 * (LIST_MAX of them at most: one page holds 512). -1 if it cannot fit. */
int nvme_build_prps(uint64_t buf, uint32_t bytes, uint64_t *prp1, uint64_t *prp2, uint64_t *list,
		    uint64_t list_phys, unsigned list_max);

/* Identify Controller (4096 bytes) and Identify Namespace, checked. */
#define NVME_IDENTIFY_BYTES 4096u
struct nvme_ctrl_info {
	char serial[21], model[41], firmware[9]; /* trailing spaces trimmed */
	uint32_t max_transfer; /* bytes per command, 0: no limit (MDTS) */
	uint32_t namespaces; /* NN */
	bool volatile_cache; /* VWC bit 0 */
};
/* MIN_PAGE is CAP's (MDTS counts in those pages). */
void nvme_parse_ctrl(const uint8_t *id, uint32_t min_page, struct nvme_ctrl_info *out);

struct nvme_ns_info {
	uint64_t nblocks; /* NSZE */
	uint32_t block_size;
};
/* 0, or -1 with WHY set to a phrase for the log when the namespace is not
 * usable (empty, unsupported block size, metadata interleaved...). */
int nvme_parse_ns(const uint8_t *id, struct nvme_ns_info *out, const char **why);

#endif
