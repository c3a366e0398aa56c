# Unit tests for the driver side of a split virtqueue, a pure module.
UNIT_TESTS += $(BUILD)/unit/test_vq_driver
$(BUILD)/unit/test_vq_driver: tests/unit/test_vq_driver.c drivers/vq_driver.c include/keel/vq_driver.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_vq_driver.c drivers/vq_driver.c $(HOST_LDLIBS)
