/*
 * perf.c - probes on perf events: interval (one CPU), profile (every CPU), software and
 * hardware events.  Each opens perf events with perf_event_open and attaches the program to
 * each of them.
 */
#include "probe.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "diag.h"
#include "util.h"

struct perf_event_name {
	const char *name;
	const char *alias;
	uint32_t type;
	uint64_t config;
	uint64_t default_count;
};

static const struct perf_event_name software_events[] = {
	{ "cpu-clock", "cpu", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, 1000000 },
	{ "task-clock", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, 1000000 },
	{ "page-faults", "faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, 100 },
	{ "context-switches", "cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, 1000 },
	{ "cpu-migrations", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, 1 },
	{ "minor-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN, 100 },
	{ "major-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, 1 },
	{ "alignment-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS, 1 },
	{ "emulation-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS, 1 },
	{ "dummy", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY, 1 },
	{ "bpf-output", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT, 1 },
	{ NULL },
};

static const struct perf_event_name hardware_events[] = {
	{ "cpu-cycles", "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 1000000 },
	{ "instructions", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, 1000000 },
	{ "cache-references", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, 1000000 },
	{ "cache-misses", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, 1000000 },
	{ "branch-instructions", "branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, 100000 },
	{ "branch-misses", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, 100000 },
	{ "bus-cycles", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES, 100000 },
	{ "ref-cycles", NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES, 1000000 },
	{ NULL },
};

/* interval:UNIT:N and profile:UNIT:N (also interval:N meaning seconds is not bpftrace's). */
/* What the parse hooks keep besides the unit or event name (ap->target). */
struct perf_ap {
	uint64_t freq;		/* the count: a rate, a period in units, or events per sample */
};

static struct perf_ap *pap(const struct attach_point *ap)
{
	return ap->data;
}

static int rate_parse(struct attach_point *ap)
{
	char *parts[4] = { 0 }, *end;
	int n = probe_split(ap->text, parts, 4), i, err = 0;
	const char *unit;

	if (n != 3) {
		diag_error(&ap->loc, "%s probe type requires 2 arguments", ap->ops->name);
		err = -EINVAL;
		goto out;
	}
	unit = parts[1];
	if (strcmp(unit, "s") && strcmp(unit, "ms") && strcmp(unit, "us") && strcmp(unit, "hz") &&
	    strcmp(unit, "ns")) {
		diag_error(&ap->loc, "%s is not an accepted unit of time", unit);
		err = -EINVAL;
		goto out;
	}
	errno = 0;
	pap(ap)->freq = strtoull(parts[2], &end, 10);
	if (*end || !*parts[2] || !pap(ap)->freq || errno || parts[2][0] == '-' ||
	    pap(ap)->freq > 1000000000000ULL) {
		diag_error(&ap->loc, "%s probe: invalid count '%s' (a positive integer is required)",
			   ap->ops->name, parts[2]);
		err = -EINVAL;
		goto out;
	}
	ap->target = parts[1];
	parts[1] = NULL;
out:
	for (i = 0; i < n; i++)
		free(parts[i]);
	return err;
}

/* One target per attach point, named type:unit-or-event:count. */
static int perf_expand(struct attach_point *ap, struct probe_targets *ts)
{
	char *name = xasprintf("%s:%s:%llu", ap->ops->name, ap->target,
			       (unsigned long long)pap(ap)->freq);

	probe_targets_add(ts, name, ap->target, NULL, pap(ap)->freq);
	free(name);
	return 0;
}

static const struct perf_event_name *event_find(const struct perf_event_name *tab, const char *name)
{
	for (; tab->name; tab++)
		if (strcmp(tab->name, name) == 0 || (tab->alias && strcmp(tab->alias, name) == 0))
			return tab;
	return NULL;
}

static int event_parse(struct attach_point *ap)
{
	const struct perf_event_name *tab = ap->ops == &probe_software ? software_events : hardware_events;
	char *parts[4] = { 0 }, *end;
	int n = probe_split(ap->text, parts, 4), i, err = 0;
	const struct perf_event_name *ev;

	if (n < 2 || n > 3) {
		diag_error(&ap->loc, "%s probe must have 1 or 2 arguments: %s:event[:count]",
			   ap->ops->name, ap->ops->name);
		err = -EINVAL;
		goto out;
	}
	ev = event_find(tab, parts[1]);
	if (!ev) {
		diag_error(&ap->loc, "%s is not a %s probe", parts[1], ap->ops->name);
		err = -EINVAL;
		goto out;
	}
	pap(ap)->freq = ev->default_count;
	if (n == 3) {
		errno = 0;
		pap(ap)->freq = strtoull(parts[2], &end, 10);
		if (*end || !pap(ap)->freq || errno || parts[2][0] == '-') {
			diag_error(&ap->loc, "%s probe: invalid count '%s'", ap->ops->name, parts[2]);
			err = -EINVAL;
			goto out;
		}
	}
	ap->target = xstrdup(ev->name);
out:
	for (i = 0; i < n; i++)
		free(parts[i]);
	return err;
}

static int perf_open(struct perf_event_attr *attr, int cpu)
{
	return (int)syscall(__NR_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/*
 * Parse /sys/devices/system/cpu/online ("0-3,5") into a bitmap; 0 or -errno.  A read that
 * fails without errno, or text that is not a CPU list, is -EINVAL: never "no CPUs" and 0,
 * which would attach nothing and report success.
 */
int perf_online_cpus(bool **online, int *n)
{
	static const char path[] = "/sys/devices/system/cpu/online";
	char buf[1024], *p, *end;
	FILE *f;
	bool *map = NULL;
	int max = 0, err;

	errno = 0;
	f = fopen(path, "re");
	if (!f)
		return errno ? -errno : -ENOENT;
	if (!fgets(buf, sizeof(buf), f)) {
		err = ferror(f) && errno ? -errno : -EINVAL;
		fclose(f);
		return err;
	}
	fclose(f);
	for (p = buf; *p && *p != '\n';) {
		long a, b, i;

		errno = 0;
		a = strtol(p, &end, 10);
		if (end == p || a < 0 || a > 65535 || errno)
			goto bad;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a || b > 65535 || errno)
				goto bad;
		}
		if (b >= max) {
			map = xrealloc(map, (size_t)(b + 1) * sizeof(*map));
			memset(map + max, 0, (size_t)(b + 1 - max) * sizeof(*map));
			max = (int)b + 1;
		}
		for (i = a; i <= b; i++)
			map[i] = true;
		if (*end == ',')
			p = end + 1;
		else if (*end == '\n' || !*end)
			break;
		else
			goto bad;
	}
	if (!max)
		goto bad;
	*online = map;
	*n = max;
	return 0;
bad:
	free(map);
	return -EINVAL;
}

static int attach_fds(struct attach_point *ap, struct perf_event_attr *attr, bool all_cpus,
		      struct bpf_program *prog, struct attach_set *set)
{
	bool *online = NULL;
	int ncpus = 1, cpu, err = 0;

	if (all_cpus) {
		err = perf_online_cpus(&online, &ncpus);
		if (err) {
			diag_error(NULL, "failed to read the online CPUs for %s from "
				   "/sys/devices/system/cpu/online: %s", ap->text,
				   err == -EINVAL ? "not a list of CPUs" : strerror(-err));
			return err;
		}
	}
	for (cpu = 0; cpu < ncpus; cpu++) {
		struct bpf_link *link;
		int fd;

		if (online && !online[cpu])
			continue;
		fd = perf_open(attr, cpu);
		if (fd < 0) {
			err = -errno;
			diag_error(NULL, "failed to open perf event for %s on CPU %d: %s", ap->text, cpu,
				   strerror(-err));
			break;
		}
		link = bpf_program__attach_perf_event(prog, fd);
		if (!link) {
			err = -errno;
			close(fd);
			diag_error(NULL, "failed to attach %s: %s", ap->text, strerror(-err));
			break;
		}
		/* the link owns fd: bpf_link__destroy closes it (closing it here too would close
		 * whatever file got the number in between) */
		attach_set_add_link(set, link);
	}
	free(online);
	return err;
}

static void rate_attr(struct attach_point *ap, struct perf_event_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->type = PERF_TYPE_SOFTWARE;
	attr->config = PERF_COUNT_SW_CPU_CLOCK;
	if (strcmp(ap->target, "hz") == 0) {
		attr->freq = 1;
		attr->sample_freq = pap(ap)->freq;
	} else {
		uint64_t mult = strcmp(ap->target, "s") == 0 ? 1000000000ULL :
				strcmp(ap->target, "ms") == 0 ? 1000000ULL :
				strcmp(ap->target, "us") == 0 ? 1000ULL : 1ULL;

		attr->sample_period = pap(ap)->freq * mult;
	}
}

static int interval_attach(struct attach_point *ap, const struct probe_targets *ts,
			   const struct probe_target *t, struct bpf_program *prog,
			   struct attach_set *set)
{
	struct perf_event_attr attr;

	rate_attr(ap, &attr);
	return attach_fds(ap, &attr, false, prog, set);
}

static int profile_attach(struct attach_point *ap, const struct probe_targets *ts,
			  const struct probe_target *t, struct bpf_program *prog,
			  struct attach_set *set)
{
	struct perf_event_attr attr;

	rate_attr(ap, &attr);
	return attach_fds(ap, &attr, true, prog, set);
}

static int event_attach(struct attach_point *ap, const struct probe_targets *ts,
			const struct probe_target *t, struct bpf_program *prog, struct attach_set *set)
{
	const struct perf_event_name *ev = event_find(ap->ops == &probe_software ? software_events :
						     hardware_events, ap->target);
	struct perf_event_attr attr = { .size = sizeof(attr) };

	attr.type = ev->type;
	attr.config = ev->config;
	attr.sample_period = pap(ap)->freq;
	return attach_fds(ap, &attr, true, prog, set);
}

static int list_events(const char *type, const struct perf_event_name *tab, const char *pattern,
		       FILE *out)
{
	char *parts[4] = { 0 };
	int n = pattern && *pattern ? probe_split(pattern, parts, 4) : 0, i;

	for (; tab->name; tab++) {
		if (n > 1 && *parts[1] && !glob_match(parts[1], tab->name))
			continue;
		fprintf(out, "%s:%s:\n", type, tab->name);
	}
	for (i = 0; i < n; i++)
		free(parts[i]);
	return 0;
}

static int software_list(const char *pattern, bool verbose, FILE *out)
{
	return list_events("software", software_events, pattern, out);
}

static int hardware_list(const char *pattern, bool verbose, FILE *out)
{
	return list_events("hardware", hardware_events, pattern, out);
}

const struct probe_ops probe_interval = {
	.name = "interval",
	/* the task it interrupts is any task: bpftrace refuses signal() here too */
	.no_signal = true,
	.alias = "i",
	.ctx = CTX_PERF,
	.as = AS_NONE,	/* unknown: compat reads pick user or kernel by address */
	.prog_type = BPF_PROG_TYPE_PERF_EVENT,
	.section = "perf_event",
	.any_process = true,	/* a timer on one CPU, in whichever process runs there */
	.data_size = sizeof(struct perf_ap),
	.parse = rate_parse,
	.expand = perf_expand,
	.attach = interval_attach,
};

const struct probe_ops probe_profile = {
	.name = "profile",
	.alias = "p",
	.ctx = CTX_PERF,
	.as = AS_NONE,	/* unknown: compat reads pick user or kernel by address */
	.prog_type = BPF_PROG_TYPE_PERF_EVENT,
	.section = "perf_event",
	.data_size = sizeof(struct perf_ap),
	.parse = rate_parse,
	.expand = perf_expand,
	.attach = profile_attach,
};

const struct probe_ops probe_software = {
	.name = "software",
	.no_signal = true,
	.alias = "s",
	.ctx = CTX_PERF,
	.as = AS_NONE,	/* unknown: compat reads pick user or kernel by address */
	.prog_type = BPF_PROG_TYPE_PERF_EVENT,
	.section = "perf_event",
	.data_size = sizeof(struct perf_ap),
	.parse = event_parse,
	.expand = perf_expand,
	.attach = event_attach,
	.list = software_list,
};

const struct probe_ops probe_hardware = {
	.name = "hardware",
	.no_signal = true,
	.alias = "h",
	.ctx = CTX_PERF,
	.as = AS_NONE,	/* unknown: compat reads pick user or kernel by address */
	.prog_type = BPF_PROG_TYPE_PERF_EVENT,
	.section = "perf_event",
	.data_size = sizeof(struct perf_ap),
	.parse = event_parse,
	.expand = perf_expand,
	.attach = event_attach,
	.list = hardware_list,
};
