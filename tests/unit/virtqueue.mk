# Unit tests for the split virtqueue engine, a pure module linked alone.
UNIT_TESTS += $(BUILD)/unit/test_virtqueue
$(BUILD)/unit/test_virtqueue: tests/unit/test_virtqueue.c core/virtqueue.c include/keel/virtqueue.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_virtqueue.c core/virtqueue.c $(HOST_LDLIBS)
