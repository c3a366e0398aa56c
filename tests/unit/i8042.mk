# Unit tests for the 8042 keyboard controller, a pure state machine linked alone.
UNIT_TESTS += $(BUILD)/unit/test_i8042
$(BUILD)/unit/test_i8042: tests/unit/test_i8042.c vdev/i8042.c include/keel/i8042.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_i8042.c vdev/i8042.c $(HOST_LDLIBS)
