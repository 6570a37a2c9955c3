/* qr-clip.h: CLIP's text tokenizer — byte-level BPE over CLIP's vocabulary (49,408 tokens: 256
 * bytes, their end-of-word forms, 48,894 merges, start and end of text), read from the model
 * folder's bpe_simple_vocab_16e6.txt.gz (OpenAI's file) or tokenizer.json (Hugging Face's). Text
 * is cleaned as CLIP does (HTML entities, whitespace, lower case), split into words, numbers and
 * punctuation, and each piece merged by rank. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QR_CLIP_CONTEXT 77

typedef struct _QrClipTokenizer QrClipTokenizer;

/* From OpenAI's merges file (gzip, one merge per line after a header line) or a Hugging Face
 * tokenizer.json (model.vocab and model.merges), told apart by the name's ending. */
QrClipTokenizer *qr_clip_tokenizer_load   (const char       *path,
                                           GError          **error);
void             qr_clip_tokenizer_free   (QrClipTokenizer  *self);
/* The token ids of text, without the start and end tokens (a GArray of int). */
GArray          *qr_clip_tokenizer_encode (QrClipTokenizer  *self,
                                           const char       *text);
/* CLIP's model input: start, the text's tokens (cut to fit), end, then pad up to
 * QR_CLIP_CONTEXT; returns how many are not padding. ids holds QR_CLIP_CONTEXT. */
int              qr_clip_tokenize         (QrClipTokenizer  *self,
                                           const char       *text,
                                           int               pad_id,
                                           int              *ids);
int              qr_clip_tokenizer_start  (QrClipTokenizer  *self);
int              qr_clip_tokenizer_end    (QrClipTokenizer  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrClipTokenizer, qr_clip_tokenizer_free)

G_END_DECLS
