/* qr-export-dialog.h: the Export Labels dialog (the app's face of `quorum export`). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define QR_TYPE_EXPORT_DIALOG (qr_export_dialog_get_type ())
G_DECLARE_FINAL_TYPE (QrExportDialog, qr_export_dialog, QR, EXPORT_DIALOG, AdwWindow)

QrExportDialog *qr_export_dialog_new        (GtkWindow      *parent,
                                             const char     *root,
                                             const char     *db_path);
/* The folder the export is written into (as a new sub-folder named after the collection). */
void            qr_export_dialog_set_folder (QrExportDialog *self,
                                             const char     *folder);
/* What the Export button does; for tests and actions. */
void            qr_export_dialog_start      (QrExportDialog *self);
gboolean        qr_export_dialog_is_busy    (QrExportDialog *self);
/* Where exports go (by default the collection's parent folder), and the folder the last one made
 * (NULL before the first; its toast has Open Folder). */
const char     *qr_export_dialog_get_folder (QrExportDialog *self);
/* which: "all", "reviewed" or "corrected" (the Labels row); the last toast's words (NULL first). */
void            qr_export_dialog_set_labels (QrExportDialog *self,
                                             const char     *which);
const char     *qr_export_dialog_get_message (QrExportDialog *self);
const char     *qr_export_dialog_get_last_export (QrExportDialog *self);

G_END_DECLS
