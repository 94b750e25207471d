import { useRef } from 'preact/hooks';
import { uploadFile } from '@parley/sdk';
import { squarePicture } from '../../media/square-picture.ts';
import { useServices } from '../app-context.ts';
import { Avatar } from './avatar.tsx';
import { ErrorText } from './error-text.tsx';
import { useAction } from './use-action.ts';

/**
 * Choose, change or remove a profile picture (mine, or a group's): the image is cropped to a square
 * and re-encoded here, uploaded, then `save` points the profile at it (or at nothing).
 */
export function PicturePicker({
  name,
  fileId,
  label,
  save,
}: {
  name: string;
  fileId: string | null;
  label: string;
  save: (fileId: string | null) => Promise<void>;
}) {
  const { client } = useServices();
  const action = useAction();
  const input = useRef<HTMLInputElement>(null);
  const choose = (file: File) =>
    action.run(async () => {
      const picture = await squarePicture(file);
      const { fileId: uploaded } = await uploadFile(client, picture, { name: 'picture', mimeType: picture.type });
      await save(uploaded);
      return 'Picture saved';
    });
  return (
    <div class="card picture-picker" aria-label={label} role="group">
      <Avatar name={name} fileId={fileId} large />
      <div class="picture-actions">
        <input
          ref={input}
          type="file"
          accept="image/*"
          hidden
          aria-label="Picture file"
          onChange={(e) => {
            const file = (e.currentTarget as HTMLInputElement).files?.[0];
            (e.currentTarget as HTMLInputElement).value = '';
            if (file) void choose(file);
          }}
        />
        <button type="button" disabled={action.busy} onClick={() => input.current?.click()}>
          {action.busy ? 'Saving…' : fileId ? 'Change picture' : 'Choose picture'}
        </button>
        {fileId && (
          <button type="button" disabled={action.busy} onClick={() => void action.run(async () => (await save(null), 'Picture removed'))}>
            Remove
          </button>
        )}
        {action.done && (
          <span class="hint" role="status">
            {action.done}
          </span>
        )}
        <ErrorText error={action.error} />
      </div>
    </div>
  );
}
