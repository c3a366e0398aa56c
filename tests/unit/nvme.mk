# Unit tests for the NVMe driver's device-free part and the block device
# registry, both pure modules linked alone.
UNIT_TESTS += $(BUILD)/unit/test_nvme
$(BUILD)/unit/test_nvme: tests/unit/test_nvme.c drivers/nvme_queue.c drivers/blkdev.c \
		include/keel/nvme.h include/keel/blkdev.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_nvme.c drivers/nvme_queue.c drivers/blkdev.c \
		$(HOST_LDLIBS)
