# Unit tests for the virtual switch's forwarding table, a pure module.
UNIT_TESTS += $(BUILD)/unit/test_l2_table
$(BUILD)/unit/test_l2_table: tests/unit/test_l2_table.c core/l2_table.c include/keel/l2_table.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_l2_table.c core/l2_table.c $(HOST_LDLIBS)
