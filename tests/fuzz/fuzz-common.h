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

/* A critical (a g_return_if_fail in a library: a bug of ours that reached it) aborts with the
 * message: SIGABRT, which libFuzzer catches and saves the input for (GLib's own fatal path raises
 * SIGTRAP, which it does not: a json-glib critical once ended a run with nothing saved). */
static inline void
fuzz_log_handler (const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR | G_LOG_FLAG_FATAL))
    {
      g_printerr ("%s-CRITICAL: %s\n", domain ? domain : "", message);
      abort ();
    }
}

static inline GLogWriterOutput
fuzz_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR | G_LOG_FLAG_FATAL))
    {
      for (gsize i = 0; i < n_fields; i++)
        if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
          g_printerr ("CRITICAL: %s\n", (const char *) fields[i].value);
      abort ();
    }
  return G_LOG_WRITER_HANDLED;
}

/* No log noise per input; criticals still abort (they are bugs). */
static inline void
fuzz_quiet (void)
{
  static gboolean done;
  if (!done)
    {
      g_log_set_default_handler (fuzz_log_handler, NULL);
      g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
      g_setenv ("G_MESSAGES_DEBUG", "", TRUE);
      done = TRUE;
    }
}
