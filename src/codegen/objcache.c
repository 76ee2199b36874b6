/*
 * objcache.c - compiled BPF objects, cached by what they are compiled from.
 *
 * LLVM's O2 pipeline and instruction selection are most of a script's compile time: 70 ms of
 * the envoy script's start-up, most of it on the stack walker linked into its module.  The
 * cache skips both when the same module was compiled before.
 *
 * The key is a 128-bit hash of the module as codegen built it, before any pass ran (its
 * bitcode), and of the sonde executable that built it (its build id, else its inode, size and
 * mtime: LLVM is linked in statically, so that covers LLVM, the pipeline and the embedded
 * walker).  Every input that changes the object is in that module by construction: the script
 * after preprocessing, positional parameters, the options that reach codegen (-p, -k, strlen,
 * stack limits and modes, map and ring sizes), and the kernel's (BTF), binaries' (ELF, DWARF)
 * and tracepoints' types and offsets that sema resolved.  Nothing outside it is trusted, so
 * no input can be left out of the key; a changed input is a different module and a miss.
 *
 * Not cached: -c runs (the child's pid is a constant in the module, so the entry would never
 * be hit again), the -d dumps (they need the passes), and everything when SONDE_CACHE=0.  A
 * file is `obj-KEY` in the cache directory (cache.c): a header with the key, the object's
 * size and a hash of its bytes, then the object.  A file that does not check out in every one
 * of them is ignored and rewritten.  The directory keeps the 256 entries used last.
 */
#include "cg.h"
#include "codegen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <llvm-c/BitWriter.h>

#include "diag.h"
#include "runtime/cache.h"
#include "util.h"

#define OBJ_MAGIC "sonde-object 1"
#define OBJ_MAX (64u << 20)
/* entries kept: the least recently used go first (a hit renews an entry's mtime) */
#define OBJ_KEEP 256

struct hash128 {
	uint64_t a, b;
	uint64_t len;
};

static uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void hash_init(struct hash128 *h)
{
	h->a = 0x243f6a8885a308d3ULL;
	h->b = 0x13198a2e03707344ULL;
	h->len = 0;
}

/* Two lanes of multiply-rotate over 8-byte words, one finalizer each: not cryptographic, the
 * cache is the user's own; 128 bits so that distinct modules do not collide by chance. */
static void hash_update(struct hash128 *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h->a = rotl(h->a ^ (w * 0x9e3779b97f4a7c15ULL), 31) * 0xc2b2ae3d27d4eb4fULL;
		h->b = rotl(h->b + (w ^ 0x165667b19e3779f9ULL), 27) * 0x87c37b91114253d5ULL + h->a;
	}
	if (i < len) {
		w = 0;
		memcpy(&w, p + i, len - i);
		w ^= (uint64_t)(len - i) << 56;
		h->a = rotl(h->a ^ (w * 0x9e3779b97f4a7c15ULL), 31) * 0xc2b2ae3d27d4eb4fULL;
		h->b = rotl(h->b + (w ^ 0x165667b19e3779f9ULL), 27) * 0x87c37b91114253d5ULL + h->a;
	}
	h->len += len;
}

static void hash_final(struct hash128 *h, uint64_t out[2])
{
	out[0] = mix(h->a ^ h->len);
	out[1] = mix(h->b ^ rotl(h->len, 17) ^ out[0]);
}

/* What identifies this build of sonde (cache.c); false when nothing does. */
static bool hash_sonde(struct hash128 *h)
{
	unsigned char id[64];
	size_t len = cache_self_id(id, sizeof(id));

	hash_update(h, PACKAGE_VERSION, sizeof(PACKAGE_VERSION));
	hash_update(h, id, len);
	return len > 0;
}

static bool enabled(const struct script *s, const struct codegen_opts *opts)
{
	const char *v = getenv("SONDE_CACHE");

	if (v && strcmp(v, "0") == 0)
		return false;
	if (opts && (opts->dump_ir || opts->dump_asm))
		return false;
	return s->opts.cpid == 0;
}

static char *header(const struct objcache *oc, size_t size, const uint64_t sum[2])
{
	return xasprintf(OBJ_MAGIC " %016" PRIx64 "%016" PRIx64 " %zu %016" PRIx64 "%016" PRIx64 "\n",
			 oc->key[0], oc->key[1], size, sum[0], sum[1]);
}

static void sum_of(const void *obj, size_t size, uint64_t sum[2])
{
	struct hash128 h;

	hash_init(&h);
	hash_update(&h, obj, size);
	hash_final(&h, sum);
}

/* The object in oc->file, if that file is whole and is the one for oc->key. */
static int read_entry(const struct objcache *oc, void **obj, size_t *size)
{
	char head[160], *want = NULL;
	uint64_t sum[2];
	size_t fsize, hlen, osize;
	void *buf = NULL;
	int fd = cache_open(oc->file, OBJ_MAX, &fsize), err = -ENOENT;

	if (fd < 0)
		return fd;
	if (cache_read_header(fd, head, sizeof(head), &hlen) ||
	    sscanf(head, OBJ_MAGIC " %*32s %zu", &osize) != 1)
		goto out;
	if (osize == 0 || hlen + osize != fsize)
		goto out;
	buf = xmalloc(osize);
	if (pread(fd, buf, osize, (off_t)hlen) != (ssize_t)osize)
		goto out;
	sum_of(buf, osize, sum);
	want = header(oc, osize, sum);
	if (strlen(want) != hlen || memcmp(want, head, hlen) != 0)
		goto out;
	*obj = buf;
	*size = osize;
	buf = NULL;
	err = 0;
	futimens(fd, NULL);
out:
	if (err)
		diag_verbose("object cache: %s is not a valid entry, compiling\n", oc->file);
	free(want);
	free(buf);
	close(fd);
	return err;
}

int objcache_lookup(struct objcache *oc, LLVMModuleRef mod, const struct script *s,
		    const struct codegen_opts *opts, void **obj, size_t *size)
{
	LLVMMemoryBufferRef bc;
	struct hash128 h;

	memset(oc, 0, sizeof(*oc));
	if (!enabled(s, opts))
		return -ENOTSUP;
	oc->dir = cache_dir();
	if (!oc->dir)
		return -ENOTSUP;
	hash_init(&h);
	if (!hash_sonde(&h)) {
		objcache_free(oc);
		return -ENOTSUP;
	}
	bc = LLVMWriteBitcodeToMemoryBuffer(mod);
	hash_update(&h, LLVMGetBufferStart(bc), LLVMGetBufferSize(bc));
	LLVMDisposeMemoryBuffer(bc);
	hash_final(&h, oc->key);
	oc->file = xasprintf("%s/obj-%016" PRIx64 "%016" PRIx64, oc->dir, oc->key[0], oc->key[1]);
	if (read_entry(oc, obj, size) == 0) {
		diag_verbose("object cache: hit %s\n", oc->file);
		return 0;
	}
	return -ENOENT;
}

void objcache_store(struct objcache *oc, const void *obj, size_t size)
{
	struct cache_part parts[2];
	uint64_t sum[2];
	char *hdr;

	if (!oc->file || size == 0 || size > OBJ_MAX)
		return;
	sum_of(obj, size, sum);
	hdr = header(oc, size, sum);
	parts[0] = (struct cache_part){ hdr, strlen(hdr) };
	parts[1] = (struct cache_part){ obj, size };
	if (cache_write(oc->dir, oc->file, parts, 2) == 0) {
		diag_verbose("object cache: wrote %s\n", oc->file);
		cache_trim(oc->dir, "obj-", OBJ_KEEP);
	}
	free(hdr);
}

void objcache_free(struct objcache *oc)
{
	free(oc->dir);
	free(oc->file);
	oc->dir = oc->file = NULL;
}
