/* Drivers for the host's PCI devices. Each driver file declares itself
 * with HOST_DRIVER(); host_drivers_init() (drivers/host_driver.c) scans PCI
 * once at boot and offers every unclaimed device to each driver's match,
 * then calls probe on a match. A driver that fails probe logs why and
 * leaves the device alone; Keel runs on without it. */
#ifndef KEEL_HOST_DRIVER_H
#define KEEL_HOST_DRIVER_H

#include <keel/hostpci.h>

struct host_driver {
	const char *name;
	bool (*match)(const struct hostpci_dev *d);
	int (*probe)(struct hostpci_dev *d); /* 0: claimed */
};

#define HOST_DRIVER(var) \
	const struct host_driver var __attribute__((section(".host_drivers"), used, aligned(8)))

void host_drivers_init(void);

#endif
