/** S3 request fields for the destination's storage class and encryption, shared by every write path. */

import type { StorageClass } from '@aws-sdk/client-s3';

import type { DestinationWriteSettings } from './types.ts';

export interface S3WriteFields {
  StorageClass?: StorageClass;
  ServerSideEncryption?: 'aws:kms';
  SSEKMSKeyId?: string;
}

export function s3WriteFields(settings: DestinationWriteSettings | undefined): S3WriteFields {
  const fields: S3WriteFields = {};
  if (settings?.storageClass) fields.StorageClass = settings.storageClass as StorageClass;
  if (settings?.sseKmsKeyId) {
    fields.ServerSideEncryption = 'aws:kms';
    fields.SSEKMSKeyId = settings.sseKmsKeyId;
  }
  return fields;
}
