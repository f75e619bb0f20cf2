/** S3, loaded with `import()` where it is needed (payloads over the inline limit): see lazyClient in ../clients. */
export { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
