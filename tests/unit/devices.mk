# Unit tests for the firmware-facing device models: QEMU's fw_cfg, the PCI
# host bridge (configuration mechanism #1) and the ACPI PM block with the
# 0xCF9 reset register. Pure state machines, each linked alone.
UNIT_TESTS += $(BUILD)/unit/test_fw_cfg
$(BUILD)/unit/test_fw_cfg: tests/unit/test_fw_cfg.c vdev/fw_cfg.c include/keel/fw_cfg.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_fw_cfg.c vdev/fw_cfg.c $(HOST_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_pci_host
$(BUILD)/unit/test_pci_host: tests/unit/test_pci_host.c vdev/pci_host.c include/keel/pci_host.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_pci_host.c vdev/pci_host.c $(HOST_LDLIBS)

UNIT_TESTS += $(BUILD)/unit/test_acpi_pm
$(BUILD)/unit/test_acpi_pm: tests/unit/test_acpi_pm.c vdev/acpi_pm.c include/keel/acpi_pm.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_acpi_pm.c vdev/acpi_pm.c $(HOST_LDLIBS)
