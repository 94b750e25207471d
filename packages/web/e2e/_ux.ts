import type { Page } from 'playwright-core';
import type { TestUser } from '@parley/test-kit';

/** Signs a test user in through the login form and waits for the chat list. */
export async function signIn(page: Page, user: TestUser): Promise<void> {
  await page.goto('/#/login');
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('list', { name: 'Chats' }).waitFor();
}

export function chatRow(page: Page, title: string) {
  return page.getByRole('list', { name: 'Chats' }).locator('a.chat-row', { hasText: title });
}

/** Opens a chat by its id and waits for its header. */
export async function openChat(page: Page, chatId: string, title: string): Promise<void> {
  await page.goto(`/#/chat/${encodeURIComponent(chatId)}`);
  await page.getByRole('heading', { name: title, level: 2 }).waitFor();
}

export function composer(page: Page) {
  return page.getByRole('textbox', { name: 'Message' });
}

export async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}
