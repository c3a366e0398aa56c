/* The host NICs (include/keel/netdev.h). Drivers register at boot, on the
 * boot CPU before the others start, and devices never go away: readers
 * walk the list without a lock. */
#include <keel/console.h>
#include <keel/netdev.h>
#include <keel/spinlock.h>
#include <keel/string.h>

static struct netdev *devs[NETDEV_MAX];
static unsigned ndevs;
static spinlock_t register_lock = SPINLOCK_INIT;

int netdev_register(struct netdev *n)
{
	int rc = -1;

	spin_lock(&register_lock);
	if (netdev_find(n->name))
		klog("%s: a host NIC of that name exists already", n->name);
	else if (ndevs == NETDEV_MAX)
		klog("%s: more than %u host NICs; ignored", n->name, NETDEV_MAX);
	else
		rc = 0;
	if (rc == 0) {
		devs[ndevs] = n;
		/* Published after the slot: lock-free readers see it whole. */
		__atomic_store_n(&ndevs, ndevs + 1, __ATOMIC_RELEASE);
	}
	spin_unlock(&register_lock);
	return rc;
}

unsigned netdev_count(void)
{
	return __atomic_load_n(&ndevs, __ATOMIC_ACQUIRE);
}

struct netdev *netdev_get(unsigned i)
{
	return i < netdev_count() ? devs[i] : NULL;
}

struct netdev *netdev_find(const char *name)
{
	for (unsigned i = 0; i < netdev_count(); i++)
		if (!strncmp(devs[i]->name, name, NETDEV_NAME_MAX))
			return devs[i];
	return NULL;
}

/* Called on every CPU from its timer path and idle loop: cheap when no
 * NIC exists, and each driver's poll returns at once when another CPU is
 * already polling that device. */
void netdev_poll_all(void)
{
	unsigned n = netdev_count();

	for (unsigned i = 0; i < n; i++)
		devs[i]->ops->poll(devs[i]);
}
