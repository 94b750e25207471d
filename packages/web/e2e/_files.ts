// Helpers of the files browser tests: signing in, media made at test time with ffmpeg and
// exiftool, hashes, and waiting for a message with attachments.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { Message, ParleyClient } from '@parley/sdk';
import type { TestUser } from '@parley/test-kit';
import { eventually } from './_browser.ts';

/** Whether ffmpeg and exiftool are installed; under CI their absence is an error, elsewhere a skip with the reason. */
export function mediaToolsAvailable(): boolean {
  const missing = ['/usr/bin/ffmpeg', '/usr/bin/exiftool'].filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  const reason = `${missing.join(' and ')} missing (apt-get install -y ffmpeg libimage-exiftool-perl)`;
  if (process.env.CI === 'true') throw new Error(`The files browser tests cannot run under CI: ${reason}`);
  console.warn(`Skipping the photo tests: ${reason}`);
  return false;
}

export async function signIn(page: Page, user: TestUser): Promise<void> {
  await page.goto('/#/login');
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('list', { name: 'Chats' }).waitFor();
}

export async function openChat(page: Page, chatId: string, title: string): Promise<void> {
  await page.goto(`/#/chat/${chatId}`);
  await page.getByRole('heading', { name: title, level: 2 }).waitFor();
}

/**
 * A camera-like JPEG: `w`×`h` test pattern, tagged with GPS, camera make and model, and an
 * orientation of "rotate 90 CW" (6), so an upright re-encode is `h`×`w`.
 */
export function makePhoto(dir: string, name: string, w = 4000, h = 3000): string {
  const file = path.join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}`, '-frames:v', '1', '-q:v', '4', file]);
  execFileSync('exiftool', [
    '-q',
    '-overwrite_original',
    '-GPSLatitude=48.858370',
    '-GPSLatitudeRef=N',
    '-GPSLongitude=2.294481',
    '-GPSLongitudeRef=E',
    '-Make=ParleyCam',
    '-Model=Test 1',
    '-Orientation#=6',
    file,
  ]);
  return file;
}

/** exiftool's reading of a file: every tag it finds, by name. */
export function exif(file: string): Record<string, unknown> {
  return (JSON.parse(execFileSync('exiftool', ['-j', '-n', file], { encoding: 'utf8' })) as Record<string, unknown>[])[0]!;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The message with this text once it is stored and carries its attachments. */
export async function waitForMessage(client: ParleyClient, chatId: string, text: string, timeoutMs = 60_000): Promise<Message> {
  let found: Message | undefined;
  await eventually(async () => {
    const { messages } = await client.listMessages({ chatId, limit: 50 });
    found = messages.find((m) => m.text === text && (m.attachments?.length ?? 0) > 0);
    if (!found) throw new Error(`No message "${text}" with attachments yet`);
  }, timeoutMs);
  return found!;
}

export async function download(client: ParleyClient, fileId: string): Promise<Uint8Array> {
  return new Uint8Array(await (await client.downloadFile(fileId)).arrayBuffer());
}

/** Picks files with the composer's file input, as the attach button does. */
export async function attach(page: Page, ...files: string[]): Promise<void> {
  await page.locator('input.file-input').setInputFiles(files);
}

/** Types the caption and sends. */
export async function sendCaption(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}
