# Unit tests for the configuration parser (core/config.c).
$(BUILD)/unit/test_config: core/config.c tests/unit/test_config.c include/keel/config.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ core/config.c tests/unit/test_config.c $(HOST_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_config
