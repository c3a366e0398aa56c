# Unit tests for the MMIO instruction decoder/emulator and the guest page-table
# walker (pure modules; the decoder is checked against capstone).
UNIT_TESTS += $(BUILD)/unit/test_x86_decode
$(BUILD)/unit/test_x86_decode: tests/unit/test_x86_decode.c core/x86_decode.c \
		include/keel/x86_emulate.h include/keel/guest_walk.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_x86_decode.c core/x86_decode.c \
		$(HOST_LDLIBS) -lcapstone

UNIT_TESTS += $(BUILD)/unit/test_x86_emulate
$(BUILD)/unit/test_x86_emulate: tests/unit/test_x86_emulate.c core/x86_emulate.c \
		core/x86_decode.c core/x86_flags.c include/keel/x86_emulate.h \
		include/keel/guest_walk.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_x86_emulate.c core/x86_emulate.c \
		core/x86_decode.c core/x86_flags.c $(HOST_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_guest_walk
$(BUILD)/unit/test_guest_walk: tests/unit/test_guest_walk.c core/guest_walk.c \
		include/keel/guest_walk.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_guest_walk.c core/guest_walk.c $(HOST_LDLIBS)
