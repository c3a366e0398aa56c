# Unit tests for the virtual local APIC, a pure state machine linked alone.
UNIT_TESTS += $(BUILD)/unit/test_lapic
$(BUILD)/unit/test_lapic: tests/unit/test_lapic.c vdev/lapic.c include/keel/lapic.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_lapic.c vdev/lapic.c $(HOST_LDLIBS)
