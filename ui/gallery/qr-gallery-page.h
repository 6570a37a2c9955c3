/* qr-gallery-page.h: the gallery: a lazy grid of thumbnail cells over a QrImageList (each cell with
 * its name, a badge counting labels ▢ and model boxes ⬚ or marking a likely mistake !, and a
 * tooltip made when asked for), many-selection by Ctrl/Shift-click and rubberband. "activate"
 * (position) is an image opened by Enter or a double-click. Above the grid, a search bar (Ctrl+F):
 * "search" (text, scorer name) when Enter is pressed in it, "search-stopped" when it is closed;
 * while a search is shown each badge starts with its score (≈ 0.54). */
#pragma once

#include <gtk/gtk.h>
#include "qr-image-list.h"

G_BEGIN_DECLS

#define QR_TYPE_GALLERY_PAGE (qr_gallery_page_get_type ())
G_DECLARE_FINAL_TYPE (QrGalleryPage, qr_gallery_page, QR, GALLERY_PAGE, GtkWidget)

/* The images shown (borrowed for the page's life); call once. */
void       qr_gallery_page_set_images    (QrGalleryPage *self,
                                          QrImageList   *images);
/* A cell's side in pixels (default 176), read when cells are made. */
void       qr_gallery_page_set_cell_size (QrGalleryPage *self,
                                          int            size);
GtkWidget *qr_gallery_page_get_grid_view (QrGalleryPage *self);
/* Selects position alone (the image the viewer shows). */
void       qr_gallery_page_select        (QrGalleryPage *self,
                                          guint          position);
void       qr_gallery_page_scroll_to     (QrGalleryPage *self,
                                          guint          position);
/* The ids of the images selected when more than one is (one selected image is just where the
 * keyboard is); NULL otherwise. */
GArray    *qr_gallery_page_get_selected_ids (QrGalleryPage *self);
void       qr_gallery_page_start_search  (QrGalleryPage *self);
/* Types text into the search bar and searches (tests, and the command line's --search). */
void       qr_gallery_page_search        (QrGalleryPage *self,
                                          const char    *text);
/* A line beside the entry: how many images matched, unknown words, or why the search failed. */
void       qr_gallery_page_set_search_status (QrGalleryPage *self,
                                          const char    *status);

G_END_DECLS
