/* Binds host PCI devices to the drivers linked into Keel (HOST_DRIVER). */
#include <keel/console.h>
#include <keel/host_driver.h>

extern const struct host_driver __host_drivers_start[], __host_drivers_end[];

void host_drivers_init(void)
{
	hostpci_scan();
	for (unsigned i = 0; i < hostpci_count(); i++) {
		struct hostpci_dev *d = hostpci_get(i);
		for (const struct host_driver *drv = __host_drivers_start;
		     drv < __host_drivers_end && !d->claimed; drv++) {
			if (!drv->match(d))
				continue;
			if (drv->probe(d) == 0)
				d->claimed = true;
			else
				klog("pci %02x:%02x.%x: %s could not take the device", d->bus,
				     d->dev, d->fn, drv->name);
		}
	}
}
