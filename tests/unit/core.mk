# Unit tests for pure core modules: nested page tables, the I/O bus, the
# formatter and the 16550 UART model (its stubs are in tests/unit/stubs/).
UNIT_TESTS += $(BUILD)/unit/test_nested_pt
$(BUILD)/unit/test_nested_pt: tests/unit/test_nested_pt.c arch/x86/nested_pt.c \
		arch/x86/include/arch/nested_pt.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Iarch/x86/include -o $@ tests/unit/test_nested_pt.c \
		arch/x86/nested_pt.c $(HOST_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_iobus
$(BUILD)/unit/test_iobus: tests/unit/test_iobus.c core/iobus.c include/keel/iobus.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_iobus.c core/iobus.c $(HOST_LDLIBS)

# lib/format.c defines vsnprintf/snprintf, which would clash with glibc's.
UNIT_TESTS += $(BUILD)/unit/test_format
$(BUILD)/unit/test_format: tests/unit/test_format.c lib/format.c include/keel/string.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Dvsnprintf=keel_vsnprintf -Dsnprintf=keel_snprintf -o $@ \
		tests/unit/test_format.c lib/format.c $(HOST_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_uart16550
$(BUILD)/unit/test_uart16550: tests/unit/test_uart16550.c vdev/uart16550.c core/iobus.c \
		tests/unit/stubs/heap.c tests/unit/stubs/vmconsole.c tests/unit/stubs/stubs.h \
		include/keel/vdev.h include/keel/iobus.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_uart16550.c vdev/uart16550.c core/iobus.c \
		tests/unit/stubs/heap.c tests/unit/stubs/vmconsole.c $(HOST_LDLIBS)
