# Unit tests for the datastore's on-disk format and its checksum, pure modules.
UNIT_TESTS += $(BUILD)/unit/test_datastore_fmt
$(BUILD)/unit/test_datastore_fmt: tests/unit/test_datastore_fmt.c core/datastore_fmt.c lib/crc32c.c \
		include/keel/datastore_fmt.h include/keel/crc32c.h include/keel/string.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_datastore_fmt.c core/datastore_fmt.c \
		lib/crc32c.c $(HOST_LDLIBS)
