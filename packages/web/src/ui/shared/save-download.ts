/** Hands a downloaded Blob to the browser under the name the server gave it (Content-Disposition), or `fallback`. */
export function saveDownload(blob: Blob, res: Response, fallback: string): void {
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallback;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // The browser has taken the bytes once the click is handled; the URL may go a little later.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
