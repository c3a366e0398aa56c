# Unit tests for the pure parts of the VT-x backend (arch/x86/vmx).
UNIT_TESTS += $(BUILD)/unit/test_vmx_caps
$(BUILD)/unit/test_vmx_caps: tests/unit/test_vmx_caps.c arch/x86/vmx/vmx_caps.c \
		arch/x86/vmx/vmcs.h arch/x86/vmx/vmx.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Iarch/x86/include -o $@ tests/unit/test_vmx_caps.c \
		arch/x86/vmx/vmx_caps.c $(HOST_LDLIBS)
