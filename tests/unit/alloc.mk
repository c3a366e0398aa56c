UNIT_TESTS += $(BUILD)/unit/test_pmm
$(BUILD)/unit/test_pmm: tests/unit/test_pmm.c core/pmm.c include/keel/pmm.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_pmm.c core/pmm.c $(HOST_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_heap
$(BUILD)/unit/test_heap: tests/unit/test_heap.c core/heap.c include/keel/heap.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_heap.c core/heap.c $(HOST_LDLIBS)
