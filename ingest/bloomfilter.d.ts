// bloomfilter ships JavaScript only: the part of its API keyrev uses.
declare module 'bloomfilter' {
  export class BloomFilter {
    constructor(bits: number, hashes: number);
    static withTargetError(expectedItems: number, falsePositiveRate: number): BloomFilter;
    add(value: string): void;
    test(value: string): boolean;
  }
}
