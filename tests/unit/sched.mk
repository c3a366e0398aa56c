UNIT_TESTS += $(BUILD)/unit/test_sched_policy
$(BUILD)/unit/test_sched_policy: tests/unit/test_sched_policy.c core/sched_policy.c \
		include/keel/sched_policy.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_sched_policy.c core/sched_policy.c $(HOST_LDLIBS)
