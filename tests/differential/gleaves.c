/*
 * gleaves - GMime 3's reading of a message, leaf by leaf (see gleaves.h).
 * Recursion is bounded by GMime's own parser (it nests no deeper than the
 * input does, and the input is bounded); walk_object also stops at 64.
 */
#include <string.h>

#include <gmime/gmime.h>

#include "gleaves.h"

static void walk_object(GMimeObject *o, gleaves_fn fn, void *arg, int depth);

static void
text_leaf(const char *s, gleaves_fn fn, void *arg)
{
	if (s != NULL && *s != '\0')
		fn(arg, (const unsigned char *)s, strlen(s), 1);
}

static void
part_leaf(GMimePart *part, gleaves_fn fn, void *arg)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *ba;

	if (w == NULL)
		return;
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, mem);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	fn(arg, ba->data, ba->len, 0);
	g_object_unref(mem);
}

static void
walk_object(GMimeObject *o, gleaves_fn fn, void *arg, int depth)
{
	if (o == NULL || depth > 64)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);

		text_leaf(g_mime_multipart_get_prologue(mp), fn, arg);
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			walk_object(g_mime_multipart_get_part(mp, i), fn, arg, depth + 1);
		text_leaf(g_mime_multipart_get_epilogue(mp), fn, arg);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));

		if (m != NULL)
			walk_object(g_mime_message_get_mime_part(m), fn, arg, depth + 1);
	} else if (GMIME_IS_PART(o)) {
		part_leaf(GMIME_PART(o), fn, arg);
	}
}

int
gleaves_walk(const char *msg, size_t len, gleaves_fn fn, void *arg)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(msg, len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *m;

	g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(s);
	if (m == NULL)
		return -1;
	walk_object(g_mime_message_get_mime_part(m), fn, arg, 0);
	g_object_unref(m);
	return 0;
}
