# Unit tests for the virtual I/O APIC, a pure state machine linked alone.
UNIT_TESTS += $(BUILD)/unit/test_ioapic
$(BUILD)/unit/test_ioapic: tests/unit/test_ioapic.c vdev/ioapic.c include/keel/ioapic.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_ioapic.c vdev/ioapic.c $(HOST_LDLIBS)
