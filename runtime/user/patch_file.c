// SPDX-License-Identifier: GPL-2.0
/*
 * Loading a patch file (patch_file.h). Why each step:
 *   - one open(O_NOFOLLOW): a symlink planted at the path is not followed,
 *     and every later check and the load itself use this descriptor, so the
 *     file cannot be swapped between the check and the load;
 *   - fstat: a regular file owned by root or by the process's own user and
 *     writable by nobody else: whoever can write the file can run code as
 *     this process;
 *   - an ELF check that it is a shared object defining the patch symbol,
 *     made on the bytes: dlopen() runs a library's constructors, so a file
 *     that is not a patch must be refused before it is loaded;
 *   - the checked bytes are loaded, not the path: the file is copied into
 *     a sealed memfd (no one can change it after the check, not even its
 *     owner through a writable mapping), the ELF check reads the memfd,
 *     and dlopen("/proc/self/fd/N") loads it. A fresh inode per load also
 *     keeps glibc from taking it for an object already loaded: glibc matches
 *     loaded objects by inode and by every name an inode was opened under,
 *     so the same file applied, reverted and applied again, or a descriptor
 *     number reused, would give back the old object. The memfd of a loaded
 *     patch stays open (its number, hence its name, is not reused) until it
 *     is unloaded. /proc/PID/maps shows it as "/memfd:dsu-patch:NAME".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "internal.h"
#include "patch_file.h"

#include "dsu/abi.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether [off, off + size) lies inside a file of `total` bytes. */
static int inside(unsigned long long off, unsigned long long size, unsigned long long total)
{
	return off <= total && size <= total - off;
}

/* Why the image is not a DSU patch for this machine, or NULL if it is one:
 * an ELF shared object of this machine's class whose dynamic symbol table
 * defines DSU_PATCH_SYMBOL. */
static const char *not_a_patch(const unsigned char *img, unsigned long long size)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Shdr *sh;
	unsigned int i;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return "not an ELF file";
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64)
		return "an ELF file for another machine";
	if (eh->e_type != ET_DYN)
		return "not a shared object";
	if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !inside(eh->e_shoff, (unsigned long long)eh->e_shnum * sizeof(Elf64_Shdr), size))
		return "a damaged ELF file (section headers)";
	sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strtab;
		const Elf64_Sym *sym;
		unsigned long long j, n;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		if (sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
		    !inside(sh[i].sh_offset, sh[i].sh_size, size))
			return "a damaged ELF file (dynamic symbols)";
		strtab = &sh[sh[i].sh_link];
		if (!inside(strtab->sh_offset, strtab->sh_size, size))
			return "a damaged ELF file (dynamic strings)";
		sym = (const Elf64_Sym *)(img + sh[i].sh_offset);
		n = sh[i].sh_size / sizeof(Elf64_Sym);
		for (j = 0; j < n; j++) {
			const char *name = (const char *)img + strtab->sh_offset + sym[j].st_name;
			unsigned long long room = strtab->sh_size > sym[j].st_name ?
				strtab->sh_size - sym[j].st_name : 0;

			if (sym[j].st_shndx != SHN_UNDEF && room > sizeof(DSU_PATCH_SYMBOL) - 1 &&
			    !memcmp(name, DSU_PATCH_SYMBOL, sizeof(DSU_PATCH_SYMBOL)))
				return NULL;
		}
	}
	return "not a DSU patch (it defines no " DSU_PATCH_SYMBOL ")";
}

/* The trust checks on the file as opened; 0 = it may be loaded. */
static int check_owner(int fd, const char *path, struct stat *st, char *msg, unsigned long len)
{
	uid_t me = geteuid();

	if (fstat(fd, st)) {
		dsu_say(msg, len, "cannot check %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		dsu_say(msg, len, "%s is not a regular file", path);
		return -1;
	}
	if (st->st_uid != 0 && st->st_uid != me) {
		dsu_say(msg, len, "%s is owned by uid %u: a patch must be owned by root or by this "
		    "process's user (uid %u)", path, (unsigned int)st->st_uid, (unsigned int)me);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		dsu_say(msg, len, "%s is writable by %s (mode %04o): a patch must be writable only by "
		    "its owner", path, st->st_mode & S_IWOTH ? "everyone" : "its group",
		    (unsigned int)(st->st_mode & 07777));
		return -1;
	}
	if (st->st_size <= 0) {
		dsu_say(msg, len, "%s is empty", path);
		return -1;
	}
	return 0;
}

/* A sealed in-memory copy of the open file, or -1. */
static int sealed_copy(int fd, const char *path, char *msg, unsigned long len)
{
	const char *base = strrchr(path, '/');
	char name[64], buf[65536];
	int mfd;
	ssize_t n;

	snprintf(name, sizeof(name), "dsu-patch:%s", base ? base + 1 : path);
	mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0) {
		dsu_say(msg, len, "cannot load %s: memfd_create: %s", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(mfd, buf, (size_t)n) != n) {
			dsu_say(msg, len, "cannot read %s: %s", path, strerror(errno ? errno : EIO));
			close(mfd);
			return -1;
		}
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) {
		dsu_say(msg, len, "cannot seal the copy of %s: %s", path, strerror(errno));
		close(mfd);
		return -1;
	}
	return mfd;
}

/* The ELF check on the sealed copy; 0 = a patch. */
static int check_patch(int mfd, const char *path, char *msg, unsigned long len)
{
	struct stat st;
	const char *why;
	void *img;

	if (fstat(mfd, &st) || st.st_size <= 0) {
		dsu_say(msg, len, "%s: cannot read the copy", path);
		return -1;
	}
	img = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, mfd, 0);
	if (img == MAP_FAILED) {
		dsu_say(msg, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	why = not_a_patch(img, (unsigned long long)st.st_size);
	munmap(img, st.st_size);
	if (why) {
		dsu_say(msg, len, "%s is %s; not loaded", path, why);
		return -1;
	}
	return 0;
}

int dsu_patch_file_load(const char *path, struct dsu_patch_file *pf, char *msg, unsigned long len)
{
	struct stat st;
	int fd;

	pf->handle = NULL;
	pf->fd = -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			dsu_say(msg, len, "%s is a symbolic link: name the patch file itself", path);
		else
			dsu_say(msg, len, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (!check_owner(fd, path, &st, msg, len))
		pf->fd = sealed_copy(fd, path, msg, len);
	close(fd);
	if (pf->fd < 0)
		return -1;
	if (check_patch(pf->fd, path, msg, len))
		goto refused;
	snprintf(pf->name, sizeof(pf->name), "/proc/self/fd/%d", pf->fd);
	/* RTLD_GLOBAL: a later patch may use what this one adds (its globals);
	 * patches link with -Bsymbolic, so their own symbols never bind elsewhere. */
	pf->handle = dlopen(pf->name, RTLD_NOW | RTLD_GLOBAL);
	if (!pf->handle) {
		const char *err = dlerror();

		dsu_say(msg, len, "cannot load %s: %s", path, err ? err : "unknown error");
		goto refused;
	}
	return 0;
refused:
	close(pf->fd);
	pf->fd = -1;
	return -1;
}

void dsu_patch_file_keep(struct dsu_patch_file *pf)
{
	/* Raises the object to RTLD_NODELETE: no dlclose unmaps it any more. */
	if (pf->handle && dlopen(pf->name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE | RTLD_GLOBAL))
		return;
	/* Cannot happen while the descriptor is open; keep the code mapped
	 * in any case by never closing the handle. */
}

void dsu_patch_file_unload(struct dsu_patch_file *pf)
{
	if (pf->handle)
		dlclose(pf->handle);
	if (pf->fd >= 0)
		close(pf->fd);
	pf->handle = NULL;
	pf->fd = -1;
}
