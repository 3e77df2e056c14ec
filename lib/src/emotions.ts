/** The class list and its order: every model, dataset and report in fer-lab uses this order. */
export const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise'] as const;
export type Emotion = (typeof EMOTIONS)[number];
export const NUM_CLASSES = EMOTIONS.length;

/** FER+ adds contempt as an eighth class (8-class mode). */
export const EMOTIONS_FERPLUS8 = [...EMOTIONS, 'contempt'] as const;
export type EmotionPlus = (typeof EMOTIONS_FERPLUS8)[number];

/** One colour per class (charts, boxes, bars); same index as EMOTIONS_FERPLUS8. */
export const EMOTION_COLORS: Record<EmotionPlus, string> = {
  angry: '#d62728',
  disgust: '#8c564b',
  fear: '#9467bd',
  happy: '#f2b701',
  neutral: '#7f7f7f',
  sad: '#1f77b4',
  surprise: '#ff7f0e',
  contempt: '#17becf',
};

/** Side of the square grayscale face crops FER2013 and every fer-lab model use. */
export const IMAGE_SIZE = 48;
export const PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE;

/** Map a folder or label name (any case, common synonyms) to a class index, or -1. */
export function emotionIndex(name: string): number {
  const key = name.trim().toLowerCase();
  const synonyms: Record<string, string> = {
    anger: 'angry', disgusted: 'disgust', fearful: 'fear', scared: 'fear', happiness: 'happy',
    sadness: 'sad', surprised: 'surprise',
  };
  return (EMOTIONS as readonly string[]).indexOf(synonyms[key] ?? key);
}
