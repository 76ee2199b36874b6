/*
 * features.h - what the running kernel supports, found by probing it (creating a map, loading a
 * tiny program, looking for a file), never by comparing version numbers.
 */
#ifndef SONDE_FEATURES_H
#define SONDE_FEATURES_H

#include <stdbool.h>
#include <stdio.h>

struct kernel_features {
	bool btf;		/* /sys/kernel/btf/vmlinux */
	bool tracefs;		/* mounted, or mounted by us */
	bool kprobes;		/* kprobe_events or the kprobe PMU (CONFIG_KPROBES) */
	bool perf_uprobe;	/* the uprobe PMU */
	bool uprobe_multi;	/* BPF_TRACE_UPROBE_MULTI links (kernel 6.6+) */
	bool ringbuf;		/* BPF_MAP_TYPE_RINGBUF */
	bool raw_tp_test_run;	/* BEGIN/END: raw tracepoint programs run with BPF_PROG_TEST_RUN */
	bool bounded_loops;	/* the verifier accepts a back edge (kernel 5.3+): while loops */
	/* Maps */
	bool map_hash, map_percpu_hash, map_array, map_percpu_array, map_stack_trace,
	     map_perf_event_array;
	/* Helpers, probed in tracepoint programs */
	bool get_stackid, probe_read_user, probe_read_user_str, probe_read_kernel,
	     probe_read_kernel_str, get_current_cgroup_id, send_signal, override_return,
	     ktime_get_boot_ns, loop;
};

/* The uprobe multi-link (kernel 6.6+), probed once, on first use. */
bool features_uprobe_multi(void);

/* Probe the running kernel.  Quiet: a missing feature is a false field, not a message. */
void features_detect(struct kernel_features *kf);

/* The --info report: system, build, and every probed feature as yes/no. */
void features_print(FILE *f);

#endif
