/* qr-history.h: label and caption edits with undo and redo. Every edit is written to the catalog at once (a
 * killed app loses nothing); the history keeps how to reverse it. Deleting is soft, so undoing a
 * deletion restores the very row, provenance and all. */
#pragma once

#include <glib-object.h>
#include "qr-catalog.h"

G_BEGIN_DECLS

#define QR_TYPE_HISTORY (qr_history_get_type ())
G_DECLARE_FINAL_TYPE (QrHistory, qr_history, QR, HISTORY, GObject)

/* "changed" is emitted after every edit, undo and redo. */
QrHistory *qr_history_new           (QrCatalog     *catalog);
QrCatalog *qr_history_get_catalog   (QrHistory     *self);
gint64     qr_history_add_label     (QrHistory     *self,
                                     gint64         image_id,
                                     gint64         class_id,
                                     const QrBox   *box,
                                     QrLabelSource  source,
                                     const char    *provenance,
                                     GError       **error);
/* A model's box becomes a label (source "accepted", provenance naming the detection). */
gint64     qr_history_accept_detection (QrHistory  *self,
                                     gint64         detection_id,
                                     GError       **error);
/* A model's box is rejected (R/X): stored, no longer drawn; undoable. */
gboolean   qr_history_reject_detection (QrHistory  *self,
                                     gint64         detection_id,
                                     GError       **error);
gboolean   qr_history_update_label  (QrHistory     *self,
                                     gint64         label_id,
                                     gint64         class_id,
                                     const QrBox   *box,
                                     GError       **error);
gboolean   qr_history_delete_label  (QrHistory     *self,
                                     gint64         label_id,
                                     GError       **error);
/* A decision on a review item (accepted, kept, edited, skipped), by the user running Quorum, now.
 * Accepting applies the peers' consensus: a missing object becomes a label, a spurious label is
 * deleted, a wrong class or a poorly located box is corrected; the label change and the decision
 * are one undo step. Returns the decision's id, -1 on error. */
gint64     qr_history_decide        (QrHistory     *self,
                                     const QrMistakeRecord *item,
                                     const char    *decision,
                                     GError       **error);
/* A review item about a caption decided; accepting with new_text replaces the caption's text
 * (one undo step with the decision). qr_history_decide is this with new_text NULL. */
gint64     qr_history_decide_caption (QrHistory    *self,
                                     const QrMistakeRecord *item,
                                     const char    *decision,
                                     const char    *new_text,
                                     GError       **error);
/* Captions: added (source "typed", "suggested", …), edited, deleted softly; each undoable. */
gint64     qr_history_add_caption   (QrHistory     *self,
                                     gint64         image_id,
                                     const char    *text,
                                     const char    *source,
                                     GError       **error);
gboolean   qr_history_set_caption_text (QrHistory  *self,
                                     gint64         caption_id,
                                     const char    *text,
                                     GError       **error);
gboolean   qr_history_delete_caption (QrHistory    *self,
                                     gint64         caption_id,
                                     GError       **error);
/* Marks an image reviewed (or unreviewed again), undoable; nothing is recorded when it already
 * is. Deciding an image's last open review item marks it reviewed in the same undo step. */
gboolean   qr_history_set_reviewed  (QrHistory     *self,
                                     gint64         image_id,
                                     gboolean       reviewed,
                                     GError       **error);
gboolean   qr_history_can_undo      (QrHistory     *self);
gboolean   qr_history_can_redo      (QrHistory     *self);
gboolean   qr_history_undo          (QrHistory     *self,
                                     GError       **error);
gboolean   qr_history_redo          (QrHistory     *self,
                                     GError       **error);

/* What one undo or redo changed: the image (every op records it), a label it left in place to
 * select (-1: none), and what it did in words ("restored the deleted person box"). The history is
 * one list for the collection, so an undo can change another image than the one on screen: the
 * app opens that image and says what was undone. */
typedef struct
{
  gint64  image_id;      /* -1: nothing was undone */
  gint64  label_id;
  char   *description;
} QrHistoryStep;

void       qr_history_step_clear    (QrHistoryStep *step);
gboolean   qr_history_undo_step     (QrHistory     *self,
                                     QrHistoryStep *step,
                                     GError       **error);
gboolean   qr_history_redo_step     (QrHistory     *self,
                                     QrHistoryStep *step,
                                     GError       **error);
/* The image the next undo (redo: TRUE, the next redo) would change, -1 when there is none. */
gint64     qr_history_peek          (QrHistory     *self,
                                     gboolean       redo);

G_END_DECLS
