// Where an image sits in a message: the dialect converters put this marker in the text at each image's place (as
// llama.cpp's mtmd default marker), and the local provider cuts the rendered prompt at it.

export const IMAGE_MARKER = '<__media__>';

/** An image of a request: its encoded bytes (PNG, JPEG, …) as the client sent them, or an http(s) URL to fetch. */
export type ImageInput = { readonly data: Uint8Array; readonly url?: undefined } | { readonly url: string; readonly data?: undefined };
