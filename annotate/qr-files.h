/* qr-files.h: small file-system helpers shared by the catalog tools, the CLI and the tests. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Removes a folder and everything in it; symbolic links are removed, never followed. */
void qr_remove_tree (const char *path);

G_END_DECLS
