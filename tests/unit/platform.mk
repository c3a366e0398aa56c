# Unit tests for the PC platform device models: 8259A pair, 8254 PIT and
# MC146818 RTC/CMOS. They are pure state machines, linked alone.
UNIT_TESTS += $(BUILD)/unit/test_i8259
$(BUILD)/unit/test_i8259: tests/unit/test_i8259.c vdev/i8259.c include/keel/i8259.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_i8259.c vdev/i8259.c $(HOST_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_i8254
$(BUILD)/unit/test_i8254: tests/unit/test_i8254.c vdev/i8254.c include/keel/i8254.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_i8254.c vdev/i8254.c $(HOST_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_rtc
$(BUILD)/unit/test_rtc: tests/unit/test_rtc.c vdev/rtc.c include/keel/rtc.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_rtc.c vdev/rtc.c $(HOST_LDLIBS)
