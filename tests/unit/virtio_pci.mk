# Unit tests for the virtio 1.x PCI transport and its MSI-X table, pure
# state machines linked with the PCI host bridge they plug into.
UNIT_TESTS += $(BUILD)/unit/test_virtio_pci
$(BUILD)/unit/test_virtio_pci: tests/unit/test_virtio_pci.c vdev/virtio_pci.c vdev/msix.c \
		vdev/pci_host.c include/keel/virtio_pci.h include/keel/msi.h include/keel/pci_host.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ tests/unit/test_virtio_pci.c vdev/virtio_pci.c vdev/msix.c \
		vdev/pci_host.c $(HOST_LDLIBS)
