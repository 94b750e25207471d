import type { AccountHooks } from '../accounts/accounts.ts';

export const chatAccountHooks: AccountHooks = {
  async created() {},
  async deleting() {},
};
