import type { FastifyInstance } from 'fastify';
import { api } from '@parley/protocol';
import type { AppContext } from '../../modules/app-context.ts';
import * as deviceLinks from '../../modules/devices/device-links.ts';
import * as devices from '../../modules/devices/devices.ts';
import * as identity from '../../modules/devices/identity.ts';
import * as keyPackages from '../../modules/devices/key-packages.ts';
import { route } from '../route.ts';

/** End-to-end encryption: identity keys, devices, device lists and KeyPackages. */
export function deviceRoutes(app: FastifyInstance, ctx: AppContext): void {
  route(app, ctx, api.putIdentity, ({ actor, input }) => identity.putIdentity(ctx, actor, input));
  route(app, ctx, api.getIdentity, ({ actor, input }) => identity.getIdentity(ctx, actor, input.userId));
  route(app, ctx, api.getRecovery, ({ actor }) => identity.getRecovery(ctx, actor));
  route(app, ctx, api.registerDevice, ({ actor, input }) => devices.registerDevice(ctx, actor, input));
  route(app, ctx, api.approveDevice, ({ actor, input }) => devices.approveDevice(ctx, actor, input));
  route(app, ctx, api.listDevices, ({ actor, input }) => devices.listDevices(ctx, actor, input.userId));
  route(app, ctx, api.getDeviceLists, ({ actor, input }) => devices.getDeviceLists(ctx, actor, input));
  route(app, ctx, api.publishDeviceList, ({ actor, input }) => devices.publishDeviceList(ctx, actor, input));
  route(app, ctx, api.uploadKeyPackages, ({ actor, input }) => keyPackages.uploadKeyPackages(ctx, actor, input));
  route(app, ctx, api.countKeyPackages, ({ actor }) => keyPackages.countKeyPackages(ctx, actor));
  route(app, ctx, api.claimKeyPackages, ({ actor, input }) => keyPackages.claimKeyPackages(ctx, actor, input));
  route(app, ctx, api.postDeviceLink, ({ actor, input }) => deviceLinks.postDeviceLink(ctx, actor, input));
  route(app, ctx, api.getDeviceLink, ({ actor, input }) => deviceLinks.getDeviceLink(ctx, actor, input));
}
