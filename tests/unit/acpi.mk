# Unit tests for the ACPI table generator and its AML encoder; the last test
# disassembles every table with iasl (acpica-tools, in tools/packages.txt).
UNIT_TESTS += $(BUILD)/unit/test_acpi_tables
$(BUILD)/unit/test_acpi_tables: tests/unit/test_acpi_tables.c core/acpi_tables.c core/acpi_aml.c \
		include/keel/acpi_tables.h include/keel/string.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_acpi_tables.c core/acpi_tables.c \
		core/acpi_aml.c $(HOST_LDLIBS)
