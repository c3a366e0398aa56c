UNIT_TESTS += $(BUILD)/unit/test_sched_policy
$(BUILD)/unit/test_sched_policy: tests/unit/test_sched_policy.c core/sched_policy.c \
		include/keel/sched_policy.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_sched_policy.c core/sched_policy.c $(HOST_LDLIBS)

# The wake-up rule of core/sched.c, with the guest-entering loop stubbed out.
UNIT_TESTS += $(BUILD)/unit/test_sched
$(BUILD)/unit/test_sched: tests/unit/test_sched.c core/sched.c core/sched_policy.c \
		include/keel/sched.h include/keel/sched_policy.h include/keel/vm.h include/keel/apic.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Iarch/x86/include -o $@ tests/unit/test_sched.c core/sched.c \
		core/sched_policy.c $(HOST_LDLIBS)
