/* fuzz-common.h: what the harnesses share. Each harness is a libFuzzer entry point over one
 * parser of a user's file; loaders that read paths get the input through a memfd (a regular file
 * in memory, opened as /proc/self/fd/N), folders through one temporary folder per process. */
#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* A memfd holding data; *path receives its /proc/self/fd path. Close fd when done. */
static inline int
fuzz_memfd (const uint8_t *data, size_t size, char *path, size_t path_size)
{
  int fd = memfd_create ("fuzz", 0);
  if (fd < 0)
    abort ();
  for (size_t done = 0; done < size;)
    {
      ssize_t n = write (fd, data + done, size - done);
      if (n <= 0)
        abort ();
      done += (size_t) n;
    }
  g_snprintf (path, path_size, "/proc/self/fd/%d", fd);
  return fd;
}

/* A folder of this process's own (made once, left for the OS's /tmp cleaning). */
static inline const char *
fuzz_folder (void)
{
  static char *dir;
  if (dir == NULL)
    {
      dir = g_dir_make_tmp ("quorum-fuzz-XXXXXX", NULL);
      if (dir == NULL)
        abort ();
    }
  return dir;
}

/* Writes data into the process's folder as name; returns its path (owned). */
static inline char *
fuzz_file (const char *name, const uint8_t *data, size_t size)
{
  char *path = g_build_filename (fuzz_folder (), name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_mkdir_with_parents (parent, 0700);
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    abort ();
  return path;
}

/* No log noise per input; criticals still abort (they are bugs). */
static inline void
fuzz_quiet (void)
{
  static gboolean done;
  if (!done)
    {
      g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
      g_setenv ("G_MESSAGES_DEBUG", "", TRUE);
      done = TRUE;
    }
}
